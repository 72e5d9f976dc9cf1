/** A script's exit code as this process can exit with it, and what Tentacle's own codes mean. */
import { ScriptExitCodes } from '../index.js';
import { ExitCode } from './exit-codes.js';

/**
 * Tentacle's own exit codes (never a script's: a process cannot exit with a negative code on Linux, and Tentacle
 * reserves these), for the note printed when one comes back.
 */
const TENTACLE_EXIT_CODES: ReadonlyMap<number, string> = new Map([
  [ScriptExitCodes.Fatal, 'Tentacle failed around the script (e.g. could not write its log)'],
  [ScriptExitCodes.PowerShellInvocationError, 'the shell could not be started'],
  [ScriptExitCodes.Canceled, 'cancelled while waiting for the isolation mutex'],
  [ScriptExitCodes.Timeout, 'the isolation mutex was not acquired in time'],
  [ScriptExitCodes.UnknownScript, 'the agent does not know the script'],
  [ScriptExitCodes.UnknownResult, 'the agent lost track of the script (e.g. it restarted while the script ran)'],
  [ScriptExitCodes.PowerShellNeverStarted, 'PowerShell never started'],
  [ScriptExitCodes.KubernetesScriptPodNotFound, "the Kubernetes agent's script pod is gone"],
]);

/**
 * The exit code this process ends with for a script's `exitCode`: 0–255 as they are; Tentacle's own negative codes
 * become 1 (a failure that is not the script's); codes above 255, which only Windows produces, become 255, so that
 * a failure never wraps round to 0 as `code % 256` could.
 */
export function shellExitCode(exitCode: number): number {
  if (exitCode < 0) return ExitCode.failed;
  return Math.min(exitCode, 255);
}

/** What a Tentacle exit code means, or undefined for a script's own code. */
export function tentacleExitCodeMeaning(exitCode: number): string | undefined {
  return TENTACLE_EXIT_CODES.get(exitCode);
}
