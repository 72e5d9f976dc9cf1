/**
 * The two ways a script runs on a listening Tentacle, following Octopus's own client.
 *
 * V2 (`IScriptServiceV2`): the client chooses the ticket, so starting twice is harmless and every call but
 * CompleteScript is retried when a connection fails mid-call. V1 (`IScriptService`): the agent chooses the ticket,
 * so a start is never repeated once it may have reached the agent. Both poll with back-off, cancel by calling
 * CancelScript until the agent says Complete, and always finish with CompleteScript (best effort), which frees the
 * workspace on the agent.
 */
import createDebug from 'debug';
import type { HalibutClient } from '../client/halibut-client.js';
import type { Endpoint } from '../client/endpoint.js';
import { isCallStopped } from '../client/errors.js';
import { ContractError } from '../contracts/errors.js';
import type { ProcessOutput, ScriptStatusResponse, ScriptTicket, StartScriptCommand, StartScriptCommandV2 } from '../contracts/dtos.js';
import {
  decodeScriptStatusResponse,
  decodeScriptStatusResponseV2,
  decodeScriptTicket,
} from '../contracts/decode.js';
import {
  encodeCancelScriptCommand,
  encodeCancelScriptCommandV2,
  encodeCompleteScriptCommand,
  encodeCompleteScriptCommandV2,
  encodeScriptStatusRequest,
  encodeScriptStatusRequestV2,
  encodeStartScriptCommand,
  encodeStartScriptCommandV2,
} from '../contracts/encode.js';
import { ProcessState, ScriptExitCodes } from '../contracts/enums.js';
import { ScriptMethods, ServiceNames } from '../contracts/services.js';
import { publishScriptStarted, publishScriptStatus } from '../diagnostics/channels.js';
import { HalibutError } from '../errors.js';
import { RemoteError } from '../protocol/remote-errors.js';
import { pause, pollDelay, type ResolvedPollOptions } from './polling.js';
import { ScriptCancelTimeoutError, ScriptNotFoundError, ScriptStartUncertainError } from './errors.js';
import type { ScriptServiceVersion } from './types.js';

const debug = createDebug('halibut:tentacle');

/** What an executor needs from the run that drives it. */
export interface ExecutionContext {
  client: HalibutClient;
  endpoint: Endpoint;
  /** The endpoint's URL, for messages. */
  url: string;
  /** Delivers the log records of a status response; the first of them is record `firstSequence` of the log. */
  emit: (records: readonly ProcessOutput[], firstSequence: number) => void;
  /** Resolves when the reader can take more lines; false when `signal` fired first. Awaited before each poll. */
  room: (signal: AbortSignal) => Promise<boolean>;
  /** The agent has the script (its start was answered, or an attached script's first status came back). */
  started: (ticket: string, service: ScriptServiceVersion) => void;
  /** Fires when the caller cancels (or the script's time is up). */
  cancel: AbortSignal;
  poll: ResolvedPollOptions;
  /** How many times a V2 call is tried when its connection fails after the request went out. */
  idempotentAttempts: number;
  /** How long cancelling (and the CompleteScript after it) may take before it is abandoned. */
  cancelTimeoutMs: number;
  /** The script's ticket, once the agent has the script (for the diagnostics of a run that fails afterwards). */
  ticket?: string;
  /** V2: awaited once the script is complete and before CompleteScript; if it throws, the workspace is kept. */
  beforeCleanup?: (end: { ticket: string; exitCode: number; cancelled: boolean }) => Promise<void>;
}

/** Where a V2 execution begins: a new start, or a script started earlier that it picks up. */
export type V2Beginning = { start: StartScriptCommandV2 } | { attach: ScriptTicket; fromLogSequence: number };

/** How an execution ended. */
export interface ExecutionOutcome {
  ticket: string;
  service: ScriptServiceVersion;
  exitCode: number;
  cancelled: boolean;
  workspaceCleanedUp: boolean;
}

/** A run cancelled before its start reached the agent: nothing ran, so there is nothing to stop or clean up. */
export function notStarted(service: ScriptServiceVersion): ExecutionOutcome {
  return { ticket: '', service, exitCode: ScriptExitCodes.Canceled, cancelled: true, workspaceCleanedUp: true };
}

type Call = (method: string, param: Record<string, unknown>, signal: AbortSignal | undefined) => Promise<unknown>;

function caller(ctx: ExecutionContext, service: string): Call {
  return (method, param, signal) => ctx.client.call(ctx.endpoint, { service, method, params: [param] }, signal === undefined ? {} : { signal });
}

/** True for a failure after the request went out that says nothing about the agent's answer: worth repeating. */
function lostMidCall(err: unknown): boolean {
  return (
    err instanceof HalibutError &&
    err.connectionState === 'unknown' &&
    !(err instanceof RemoteError) &&
    !isCallStopped(err) &&
    !(err instanceof ContractError)
  );
}

/** Tracks the status responses of one script: the sequence to ask from next, and the last state seen. */
class StatusTracker {
  sequence = 0;
  last: ScriptStatusResponse | undefined;

  constructor(
    private readonly ctx: ExecutionContext,
    private readonly ticket: string,
  ) {}

  apply(status: ScriptStatusResponse): ScriptStatusResponse {
    publishScriptStatus(this.ctx.url, this.ticket, status);
    this.ctx.emit(status.Logs, status.NextLogSequence - status.Logs.length);
    this.sequence = status.NextLogSequence;
    this.last = status;
    return status;
  }

  get complete(): boolean {
    return this.last?.State === ProcessState.Complete;
  }

  get exitCode(): number {
    return this.last?.ExitCode ?? ScriptExitCodes.Canceled;
  }
}

export async function executeV2(ctx: ExecutionContext, beginning: V2Beginning): Promise<ExecutionOutcome> {
  const call = caller(ctx, ServiceNames.ScriptServiceV2);
  const ticket = 'start' in beginning ? beginning.start.ScriptTicket : beginning.attach;
  const status = new StatusTracker(ctx, ticket.TaskId);
  if ('attach' in beginning) status.sequence = beginning.fromLogSequence;
  const request = () => ({ Ticket: ticket, LastLogSequence: status.sequence });
  const idempotent = async (method: string, param: () => Record<string, unknown>, signal: AbortSignal | undefined): Promise<ScriptStatusResponse> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return decodeScriptStatusResponseV2(await call(method, param(), signal), 'result');
      } catch (err) {
        if (attempt >= ctx.idempotentAttempts || signal?.aborted === true || !lostMidCall(err)) throw err;
        debug('%s on %s lost mid-call (%s); trying again, as V2 calls are safe to repeat', method, ctx.url, (err as Error).message);
        if (!(await pause(pollDelay(ctx.poll, attempt - 1), signal))) throw err;
      }
    }
  };
  const outcome = (cancelled: boolean, workspaceCleanedUp: boolean): ExecutionOutcome => ({
    ticket: ticket.TaskId,
    service: ServiceNames.ScriptServiceV2,
    exitCode: status.exitCode,
    cancelled,
    workspaceCleanedUp,
  });
  /** The end is handed to the caller first: a failure there keeps the workspace, so the end can be read again. */
  const completeAfterHook = async (cancelled: boolean): Promise<ExecutionOutcome> => {
    await ctx.beforeCleanup?.({ ticket: ticket.TaskId, exitCode: status.exitCode, cancelled });
    return outcome(cancelled, await complete());
  };
  const complete = async (): Promise<boolean> => {
    try {
      // Never repeated: it is the last call, and a failure only leaves a workspace behind.
      await call(ScriptMethods.CompleteScript, encodeCompleteScriptCommandV2({ Ticket: ticket }), AbortSignal.timeout(ctx.cancelTimeoutMs));
      return true;
    } catch (err) {
      debug('could not clean up the workspace of %s on %s: %s', ticket.TaskId, ctx.url, (err as Error).message);
      return false;
    }
  };

  try {
    const first =
      'start' in beginning
        ? await idempotent(ScriptMethods.StartScript, () => encodeStartScriptCommandV2(beginning.start), ctx.cancel)
        : await idempotent(ScriptMethods.GetStatus, () => encodeScriptStatusRequestV2(request()), ctx.cancel);
    // An agent answers a ticket it does not know as a completed script with its own exit code: for a script we
    // were asked to pick up, that is not a result but a missing script. Its GetStatus made an empty workspace,
    // which CompleteScript removes.
    if ('attach' in beginning && first.State === ProcessState.Complete && first.ExitCode === ScriptExitCodes.UnknownScript) {
      await complete();
      throw new ScriptNotFoundError(ctx.url, ticket.TaskId);
    }
    ctx.ticket = ticket.TaskId;
    ctx.started(ticket.TaskId, ServiceNames.ScriptServiceV2);
    publishScriptStarted(ctx.url, ticket.TaskId, ServiceNames.ScriptServiceV2);
    status.apply(first);
    for (let i = 0; !status.complete; i++) {
      if (!(await pause(pollDelay(ctx.poll, i), ctx.cancel))) break;
      if (!(await ctx.room(ctx.cancel))) break;
      status.apply(await idempotent(ScriptMethods.GetStatus, () => encodeScriptStatusRequestV2(request()), ctx.cancel));
    }
  } catch (err) {
    if (err instanceof ScriptNotFoundError) throw err;
    if (!ctx.cancel.aborted) {
      // The script may be running with nobody watching it: ask the agent to stop it before giving up.
      await call(ScriptMethods.CancelScript, encodeCancelScriptCommandV2(request()), AbortSignal.timeout(ctx.cancelTimeoutMs)).catch(() => undefined);
      throw err;
    }
    // Cancelled while the start was still connecting: nothing reached the agent, so there is nothing to stop.
    if (status.last === undefined && isCallStopped(err) && !err.requestMayHaveRun) return outcome(true, true);
  }
  if (status.complete && !ctx.cancel.aborted) return completeAfterHook(false);

  // Cancelling: CancelScript until the agent reports the script complete. The caller's signal has fired, so these
  // calls are bounded by their own deadline instead.
  const deadline = AbortSignal.timeout(ctx.cancelTimeoutMs);
  const wasComplete = status.complete;
  for (let i = 0; !status.complete; i++) {
    status.apply(await idempotent(ScriptMethods.CancelScript, () => encodeCancelScriptCommandV2(request()), deadline));
    if (!status.complete && !(await pause(pollDelay(ctx.poll, i), deadline))) throw new ScriptCancelTimeoutError(ctx.url, ctx.cancelTimeoutMs);
  }
  return completeAfterHook(!wasComplete);
}

export async function executeV1(ctx: ExecutionContext, command: StartScriptCommand): Promise<ExecutionOutcome> {
  const call = caller(ctx, ServiceNames.ScriptService);
  let ticket: ScriptTicket;
  try {
    ticket = decodeScriptTicket(await call(ScriptMethods.StartScript, encodeStartScriptCommand(command), ctx.cancel), 'result');
  } catch (err) {
    if (isCallStopped(err) && !err.requestMayHaveRun) {
      return notStarted(ServiceNames.ScriptService);
    }
    if (err instanceof HalibutError && err.connectionState === 'unknown' && !(err instanceof RemoteError) && !(err instanceof ContractError)) {
      throw new ScriptStartUncertainError(ctx.url, err);
    }
    throw err;
  }
  ctx.ticket = ticket.TaskId;
  ctx.started(ticket.TaskId, ServiceNames.ScriptService);
  publishScriptStarted(ctx.url, ticket.TaskId, ServiceNames.ScriptService);
  const status = new StatusTracker(ctx, ticket.TaskId);
  const request = () => ({ Ticket: ticket, LastLogSequence: status.sequence });
  const getStatus = async (signal: AbortSignal | undefined) =>
    status.apply(decodeScriptStatusResponse(await call(ScriptMethods.GetStatus, encodeScriptStatusRequest(request()), signal), 'result'));

  let cancelled = false;
  try {
    for (let i = 0; !status.complete; i++) {
      if (!(await pause(pollDelay(ctx.poll, i), ctx.cancel))) break;
      if (!(await ctx.room(ctx.cancel))) break;
      await getStatus(ctx.cancel);
    }
  } catch (err) {
    if (!ctx.cancel.aborted) throw err;
  }
  const deadline = AbortSignal.timeout(ctx.cancelTimeoutMs);
  if (!status.complete) {
    cancelled = true;
    status.apply(decodeScriptStatusResponse(await call(ScriptMethods.CancelScript, encodeCancelScriptCommand(request()), deadline), 'result'));
    for (let i = 0; !status.complete; i++) {
      if (!(await pause(pollDelay(ctx.poll, i), deadline))) throw new ScriptCancelTimeoutError(ctx.url, ctx.cancelTimeoutMs);
      await getStatus(deadline);
    }
  }
  // A V1 agent can report Complete before its last lines are in the log: one more read picks them up.
  await getStatus(deadline);
  let workspaceCleanedUp = false;
  try {
    const final = decodeScriptStatusResponse(await call(ScriptMethods.CompleteScript, encodeCompleteScriptCommand(request()), deadline), 'result');
    ctx.emit(final.Logs, final.NextLogSequence - final.Logs.length);
    workspaceCleanedUp = true;
  } catch (err) {
    debug('could not clean up the workspace of %s on %s: %s', ticket.TaskId, ctx.url, (err as Error).message);
  }
  return { ticket: ticket.TaskId, service: ServiceNames.ScriptService, exitCode: status.exitCode, cancelled, workspaceCleanedUp };
}
