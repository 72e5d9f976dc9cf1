/**
 * `IScriptServiceV2` as a Tentacle implements it: the client chooses the ticket, so StartScript is idempotent
 * (a repeated start, even a concurrent one, returns the known script's status from the first log record), and an
 * unknown ticket is reported as Complete with exit code −45 rather than as a success.
 */
import {
  ProcessState,
  ScriptExitCodes,
  decodeCancelScriptCommandV2,
  decodeCompleteScriptCommandV2,
  decodeScriptStatusRequestV2,
  decodeStartScriptCommandV2,
  encodeScriptStatusResponseV2,
  type ScriptStatusResponse,
  type TicketAndSequence,
} from '../../contracts/index.js';
import type { ServiceImplementation } from '../service-dispatch.js';
import type { ScriptHost } from './script-host.js';

/** The status of a ticket the agent does not know. */
function unknownScript(request: TicketAndSequence): ScriptStatusResponse {
  return { Ticket: request.Ticket, Logs: [], NextLogSequence: request.LastLogSequence, State: ProcessState.Complete, ExitCode: ScriptExitCodes.UnknownScript };
}

export function createScriptServiceV2(host: ScriptHost): ServiceImplementation {
  return {
    async StartScript(wire: unknown): Promise<unknown> {
      const command = decodeStartScriptCommandV2(wire, 'params[0]');
      const { script, ready, isNew } = host.start(command.ScriptTicket.TaskId, command.TaskId, command);
      await ready;
      // A repeated start answers at once, whatever its own duration says.
      if (!isNew) return encodeScriptStatusResponseV2(script.status(0));
      const wait = command.DurationToWaitForScriptToFinish?.milliseconds ?? 0;
      // Without a wait, a Tentacle answers before the script has logged anything: Pending, no lines.
      if (wait <= 0) return encodeScriptStatusResponseV2({ Ticket: command.ScriptTicket, Logs: [], NextLogSequence: 0, State: ProcessState.Pending, ExitCode: ScriptExitCodes.Running });
      await script.waitForCompletion(wait);
      return encodeScriptStatusResponseV2(script.status(0));
    },

    GetStatus(wire: unknown): unknown {
      const request = decodeScriptStatusRequestV2(wire, 'params[0]');
      const script = host.find(request.Ticket.TaskId);
      return encodeScriptStatusResponseV2(script === undefined ? unknownScript(request) : script.status(request.LastLogSequence));
    },

    CancelScript(wire: unknown): unknown {
      const request = decodeCancelScriptCommandV2(wire, 'params[0]');
      const script = host.find(request.Ticket.TaskId);
      return encodeScriptStatusResponseV2(script === undefined ? unknownScript(request) : host.cancel(script, request.LastLogSequence));
    },

    async CompleteScript(wire: unknown): Promise<null> {
      const command = decodeCompleteScriptCommandV2(wire, 'params[0]');
      await host.complete(command.Ticket.TaskId);
      return null;
    },
  };
}
