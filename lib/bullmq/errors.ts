/**
 * How a script job fails for good. Each is BullMQ's `UnrecoverableError`, so that BullMQ fails the job at once
 * instead of trying it again: another attempt would run the script a second time, or could not know whether it ran.
 * Each has a stable `code`; BullMQ keeps only the message (as the job's `failedReason`).
 */
import { UnrecoverableError } from 'bullmq';
import type { ScriptJobResult } from './types.js';

/** The script completed with an exit code other than 0 (under `nonZeroExit: 'fail'`, the default). */
export class ScriptJobFailedError extends UnrecoverableError {
  /** Stable identifier. */
  readonly code = 'ERR_SCRIPT_JOB_FAILED';
  constructor(
    /** The script's result, as the job would have returned it. */
    readonly result: ScriptJobResult,
  ) {
    super(`The script (ticket ${result.ticket}) exited with code ${result.exitCode}`);
  }
}

/** The script was cancelled: the job was cancelled (the worker's signal), or the script ran out of `timeoutMs`. */
export class ScriptJobCancelledError extends UnrecoverableError {
  /** Stable identifier. */
  readonly code = 'ERR_SCRIPT_JOB_CANCELLED';
  constructor(
    /** The job's ticket. */
    readonly ticket: string,
    /** Why: the signal's reason, or the timeout. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`The script (ticket ${ticket}) was cancelled on its agent: ${reason}`);
    if (options?.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false, writable: true, configurable: true });
  }
}

/**
 * An earlier attempt of this job may have started the script on an agent that offers only the V1 script service,
 * which cannot be asked about it again: running it again could run it twice, so the job fails instead (unless the
 * processor was made with `v1Retry: 'run-again'`).
 */
export class ScriptJobOutcomeUnknownError extends UnrecoverableError {
  /** Stable identifier. */
  readonly code = 'ERR_SCRIPT_JOB_OUTCOME_UNKNOWN';
  constructor(
    /** The agent's URL. */
    readonly endpoint: string,
    /** The job's ticket. */
    readonly ticket: string,
  ) {
    super(
      `An earlier attempt may have started this job's script on ${endpoint}, which offers only the V1 script service and cannot be asked about it: not running it again (ticket ${ticket})`,
    );
  }
}

/** The job's data is not a script job's `{ target, script, uploads? }`. */
export class InvalidScriptJobError extends UnrecoverableError {
  /** Stable identifier. */
  readonly code = 'ERR_INVALID_SCRIPT_JOB';
  constructor(
    /** What is wrong. */
    readonly problem: string,
  ) {
    super(`Not a script job: ${problem}`);
  }
}
