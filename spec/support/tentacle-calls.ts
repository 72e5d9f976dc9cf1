// Raw calls to the Tentacle services over a real client, and polling helpers that wait for a script to reach a
// condition by asking GetStatus again (a bounded loop), never by sleeping for a guessed time.
import { setTimeout as delay } from 'node:timers/promises';
import {
  ProcessOutputSource,
  ProcessState,
  ScriptIsolationLevel,
  decodeCapabilitiesResponseV2,
  decodeScriptStatusResponse,
  decodeScriptStatusResponseV2,
  decodeScriptTicket,
  encodeCancelScriptCommand,
  encodeCancelScriptCommandV2,
  encodeCompleteScriptCommand,
  encodeCompleteScriptCommandV2,
  encodeScriptStatusRequest,
  encodeScriptStatusRequestV2,
  encodeStartScriptCommand,
  encodeStartScriptCommandV2,
  newScriptTicket,
  type ProcessOutput,
  type ScriptStatusResponse,
  type StartScriptCommand,
  type StartScriptCommandV2,
} from '../../lib/contracts/index.js';
import { TimeSpan, type Endpoint, type HalibutClient } from '../../lib/index.js';

/** What the official builders send when no mutex timeout is set: int.MaxValue milliseconds. */
export const NO_MUTEX_TIMEOUT = TimeSpan.parse('24.20:31:23.6470000');

/** How long a poll loop may run before the test fails. */
const POLL_BOUND_MS = 15_000;

export function v2Command(body: string, overrides: Partial<StartScriptCommandV2> = {}): StartScriptCommandV2 {
  return {
    ScriptTicket: newScriptTicket(),
    TaskId: 'ServerTasks-1',
    ScriptBody: body,
    DurationToWaitForScriptToFinish: null,
    Isolation: ScriptIsolationLevel.NoIsolation,
    ScriptIsolationMutexTimeout: NO_MUTEX_TIMEOUT,
    IsolationMutexName: null,
    Scripts: {},
    Files: [],
    Arguments: [],
    ...overrides,
  };
}

export function v1Command(body: string, overrides: Partial<StartScriptCommand> = {}): StartScriptCommand {
  return {
    ScriptBody: body,
    Isolation: ScriptIsolationLevel.NoIsolation,
    Scripts: {},
    Files: [],
    Arguments: [],
    TaskId: 'ServerTasks-42',
    ScriptIsolationMutexTimeout: NO_MUTEX_TIMEOUT,
    IsolationMutexName: null,
    ...overrides,
  };
}

/** A script's accumulated view, as a client that pages the log builds it. */
export interface Observed {
  ticket: string;
  logs: ProcessOutput[];
  next: number;
  last: ScriptStatusResponse;
  /** GetStatus calls that returned at least one record. */
  pages: number;
}

export interface ScriptCalls {
  start(command: StartScriptCommandV2): Promise<ScriptStatusResponse>;
  status(ticket: string, lastLogSequence?: number): Promise<ScriptStatusResponse>;
  cancel(ticket: string, lastLogSequence?: number): Promise<ScriptStatusResponse>;
  complete(ticket: string): Promise<unknown>;
  /** Polls GetStatus, paging the log, until `done` holds for what has been seen. */
  pollUntil(observed: Observed, done: (o: Observed) => boolean, what: string): Promise<Observed>;
  /** Polls until Complete, then asks once more for anything written last. */
  untilComplete(observed: Observed): Promise<Observed>;
  observe(ticket: string, first?: ScriptStatusResponse): Observed;
}

export function v2Calls(client: HalibutClient, endpoint: Endpoint): ScriptCalls {
  const call = async (method: string, param: unknown): Promise<unknown> => client.call(endpoint, { service: 'IScriptServiceV2', method, params: [param] });
  const status = async (ticket: string, lastLogSequence = 0) =>
    decodeScriptStatusResponseV2(await call('GetStatus', encodeScriptStatusRequestV2({ Ticket: { TaskId: ticket }, LastLogSequence: lastLogSequence })));
  return withPolling({
    start: async (command) => decodeScriptStatusResponseV2(await call('StartScript', encodeStartScriptCommandV2(command))),
    status,
    cancel: async (ticket, lastLogSequence = 0) =>
      decodeScriptStatusResponseV2(await call('CancelScript', encodeCancelScriptCommandV2({ Ticket: { TaskId: ticket }, LastLogSequence: lastLogSequence }))),
    complete: async (ticket) => call('CompleteScript', encodeCompleteScriptCommandV2({ Ticket: { TaskId: ticket } })),
  });
}

export interface V1Calls extends ScriptCalls {
  startV1(command: StartScriptCommand): Promise<string>;
  completeV1(ticket: string, lastLogSequence: number): Promise<ScriptStatusResponse>;
}

export function v1Calls(client: HalibutClient, endpoint: Endpoint): V1Calls {
  const call = async (method: string, param: unknown): Promise<unknown> => client.call(endpoint, { service: 'IScriptService', method, params: [param] });
  const request = (ticket: string, lastLogSequence: number) => ({ Ticket: { TaskId: ticket }, LastLogSequence: lastLogSequence });
  const completeV1 = async (ticket: string, lastLogSequence: number) => decodeScriptStatusResponse(await call('CompleteScript', encodeCompleteScriptCommand(request(ticket, lastLogSequence))));
  const calls = withPolling({
    start: () => Promise.reject(new Error('V1 StartScript returns a ticket: use startV1')),
    status: async (ticket, lastLogSequence = 0) => decodeScriptStatusResponse(await call('GetStatus', encodeScriptStatusRequest(request(ticket, lastLogSequence)))),
    cancel: async (ticket, lastLogSequence = 0) => decodeScriptStatusResponse(await call('CancelScript', encodeCancelScriptCommand(request(ticket, lastLogSequence)))),
    complete: (ticket) => completeV1(ticket, 0),
  });
  return {
    ...calls,
    startV1: async (command) => decodeScriptTicket(await call('StartScript', encodeStartScriptCommand(command))).TaskId,
    completeV1,
  };
}

function withPolling(raw: Omit<ScriptCalls, 'pollUntil' | 'untilComplete' | 'observe'>): ScriptCalls {
  const absorb = (o: Observed, response: ScriptStatusResponse): void => {
    o.logs.push(...response.Logs);
    if (response.Logs.length > 0) o.pages++;
    o.next = response.NextLogSequence;
    o.last = response;
  };
  const observe = (ticket: string, first?: ScriptStatusResponse): Observed => {
    const o: Observed = {
      ticket,
      logs: [],
      next: 0,
      last: first ?? { Ticket: { TaskId: ticket }, Logs: [], NextLogSequence: 0, State: ProcessState.Pending, ExitCode: 0 },
      pages: 0,
    };
    if (first !== undefined) absorb(o, first);
    return o;
  };
  const pollUntil = async (o: Observed, done: (o: Observed) => boolean, what: string): Promise<Observed> => {
    const deadline = Date.now() + POLL_BOUND_MS;
    for (let wait = 5; !done(o); wait = Math.min(wait * 2, 50)) {
      if (Date.now() > deadline) throw new Error(`Gave up waiting for ${what}; state ${o.last.State}, log:\n${texts(o.logs).join('\n')}`);
      await delay(wait);
      absorb(o, await raw.status(o.ticket, o.next));
    }
    return o;
  };
  return {
    ...raw,
    observe,
    pollUntil,
    untilComplete: async (o) => {
      await pollUntil(o, (x) => x.last.State === ProcessState.Complete, `${o.ticket} to complete`);
      absorb(o, await raw.status(o.ticket, o.next));
      return o;
    },
  };
}

export function texts(logs: readonly ProcessOutput[]): string[] {
  return logs.map((l) => l.Text);
}

/** The script's own output: what comes after the "Starting …" line and before the "Process … exited" line. */
export function scriptOutput(logs: readonly ProcessOutput[]): Array<[source: keyof typeof ProcessOutputSource, text: string]> {
  const start = logs.findIndex((l) => l.Source === ProcessOutputSource.Debug && l.Text.startsWith('Starting '));
  const end = logs.findIndex((l) => l.Source === ProcessOutputSource.Debug && l.Text.startsWith('Process '));
  const names = Object.fromEntries(Object.entries(ProcessOutputSource).map(([name, value]) => [value, name])) as Record<number, keyof typeof ProcessOutputSource>;
  return logs.slice(start + 1, end < 0 ? undefined : end).map((l) => [names[l.Source]!, l.Text]);
}

export async function capabilities(client: HalibutClient, endpoint: Endpoint): Promise<string[]> {
  return decodeCapabilitiesResponseV2(await client.call(endpoint, { service: 'ICapabilitiesServiceV2', method: 'GetCapabilities', params: [] })).SupportedCapabilities;
}
