// What the fleet's agents serve: a Tentacle's capabilities, and an IScriptServiceV2 that runs nothing. Every script
// completes the moment it is started, with a few lines of output and exit code 0, so that a run on many targets
// measures the client (its calls, polling rules and line hand-over), not bash.
import {
  ProcessOutputSource,
  ProcessState,
  ServiceNames,
  decodeCancelScriptCommandV2,
  decodeScriptStatusRequestV2,
  decodeStartScriptCommandV2,
  encodeScriptStatusResponseV2,
  type ProcessOutput,
  type ScriptTicket,
  type TicketAndSequence,
} from '../../lib/contracts/index.js';
import type { ServiceImplementation } from '../../lib/testing/index.js';
import { createCapabilitiesService } from '../../lib/testing/tentacle/capabilities-service.js';

/** How many lines every stub script prints. */
export const STUB_SCRIPT_LINES = 3;

function output(): ProcessOutput[] {
  const now = new Date();
  return Array.from({ length: STUB_SCRIPT_LINES }, (_, i) => ({ Source: ProcessOutputSource.StdOut, Occurred: now, Text: `stub script line ${i + 1}` }));
}

/** The status of a finished stub script, with its lines after `from` (the stub keeps nothing: it is all derived). */
function finished(ticket: ScriptTicket, from: number): unknown {
  const logs = output().slice(from);
  return encodeScriptStatusResponseV2({ Ticket: ticket, Logs: logs, NextLogSequence: STUB_SCRIPT_LINES, State: ProcessState.Complete, ExitCode: 0 });
}

const statusOf = (request: TicketAndSequence): unknown => finished(request.Ticket, request.LastLogSequence);

export function stubScriptServiceV2(): ServiceImplementation {
  return {
    StartScript: (wire: unknown) => finished(decodeStartScriptCommandV2(wire, 'params[0]').ScriptTicket, 0),
    GetStatus: (wire: unknown) => statusOf(decodeScriptStatusRequestV2(wire, 'params[0]')),
    CancelScript: (wire: unknown) => statusOf(decodeCancelScriptCommandV2(wire, 'params[0]')),
    CompleteScript: () => null,
  };
}

/** The services of one fleet agent: V2 scripts (the stub), capabilities, and the benchmark's Echo. */
export function fleetServices(): Record<string, ServiceImplementation> {
  return {
    [ServiceNames.ScriptServiceV2]: stubScriptServiceV2(),
    [ServiceNames.CapabilitiesServiceV2]: createCapabilitiesService([ServiceNames.ScriptService, ServiceNames.FileTransferService, ServiceNames.ScriptServiceV2]),
    IBenchService: { Echo: (value: unknown) => value },
  };
}
