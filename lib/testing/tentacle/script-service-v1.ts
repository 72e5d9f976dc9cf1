/**
 * `IScriptService` (V1) as a Tentacle implements it: the agent makes up the ticket, nothing is idempotent, and an
 * unknown ticket looks like a script that succeeded (Complete, exit code 0), a pitfall clients must know about.
 */
import {
  ProcessState,
  decodeCancelScriptCommand,
  decodeCompleteScriptCommand,
  decodeScriptStatusRequest,
  decodeStartScriptCommand,
  encodeScriptStatusResponse,
  encodeScriptTicket,
  type ScriptStatusResponse,
  type TicketAndSequence,
} from '../../contracts/index.js';
import type { ServiceImplementation } from '../service-dispatch.js';
import type { ScriptHost } from './script-host.js';

/** Process-wide, as a Tentacle's ticket counter is. */
let ticketCounter = 0;

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * A V1 ticket as a Tentacle makes it: `yyyyMMddHHmmss-<task id without "ServerTasks-">-<counter>`, the time stamp in
 * UTC; a null task id leaves its part empty (`<stamp>--<n>`).
 */
export function newV1Ticket(taskId: string | null, now = new Date()): string {
  const stamp = `${now.getUTCFullYear()}${two(now.getUTCMonth() + 1)}${two(now.getUTCDate())}${two(now.getUTCHours())}${two(now.getUTCMinutes())}${two(now.getUTCSeconds())}`;
  const task = taskId === null ? '' : taskId.replace('ServerTasks-', '');
  return `${stamp}-${task}-${++ticketCounter}`;
}

/** The status of a ticket the agent does not know: indistinguishable from success. */
function unknownScript(request: TicketAndSequence): ScriptStatusResponse {
  return { Ticket: request.Ticket, Logs: [], NextLogSequence: request.LastLogSequence, State: ProcessState.Complete, ExitCode: 0 };
}

export function createScriptServiceV1(host: ScriptHost): ServiceImplementation {
  const status = (request: TicketAndSequence): ScriptStatusResponse => host.find(request.Ticket.TaskId)?.status(request.LastLogSequence) ?? unknownScript(request);
  return {
    async StartScript(wire: unknown): Promise<unknown> {
      const command = decodeStartScriptCommand(wire, 'params[0]');
      const ticket = newV1Ticket(command.TaskId);
      const { ready } = host.start(ticket, command.TaskId ?? ticket, command);
      await ready;
      return encodeScriptTicket({ TaskId: ticket });
    },

    GetStatus(wire: unknown): unknown {
      return encodeScriptStatusResponse(status(decodeScriptStatusRequest(wire, 'params[0]')));
    },

    CancelScript(wire: unknown): unknown {
      const request = decodeCancelScriptCommand(wire, 'params[0]');
      const script = host.find(request.Ticket.TaskId);
      return encodeScriptStatusResponse(script === undefined ? unknownScript(request) : host.cancel(script, request.LastLogSequence));
    },

    async CompleteScript(wire: unknown): Promise<unknown> {
      const request = decodeCompleteScriptCommand(wire, 'params[0]');
      // The final logs are taken before the workspace goes.
      const final = status(request);
      await host.complete(request.Ticket.TaskId);
      return encodeScriptStatusResponse(final);
    },
  };
}
