/** What a script job reports while it runs (its progress) and when it ends (its result). */
import type { LogLine, ScriptServiceVersion } from '../index.js';

/** A script job's result: how its script ended. JSON, as BullMQ stores it. */
export interface ScriptJobResult {
  /** The ticket the agent knew the script by: the job's (see scriptJobTicket), or a V1 agent's own. */
  ticket: string;
  /** The script service used. */
  service: ScriptServiceVersion;
  /** The script's exit code, or one of Tentacle's own (ScriptExitCodes). */
  exitCode: number;
  /** True when the script was cancelled before it completed by itself. */
  cancelled: boolean;
  /** Log lines handled over every attempt, each once (markers excluded). */
  lineCount: number;
  /** How many attempts followed the script: 1 unless a worker died (or lost the job) while it ran. */
  attempts: number;
  /** True when the attempt that saw the end attached to a script an earlier attempt had started. */
  resumed: boolean;
  /** False when the final CompleteScript failed, so the script's workspace may remain on the agent. */
  workspaceCleanedUp: boolean;
}

/** The last line a job handled, as its progress carries it. */
export type ScriptJobLine = Pick<LogLine, 'source' | 'text' | 'level' | 'sequence'>;

/**
 * A script job's progress (`job.progress`), updated after every line and at the start and end of the script: what
 * a retry resumes from, and what progress listeners see.
 */
export interface ScriptJobProgress {
  /** The job's ticket. */
  ticket: string;
  /** `starting` until the agent has the script, `running` while it runs, `ended` once its end is recorded. */
  phase: 'starting' | 'running' | 'ended';
  /** The script service, once known. */
  service?: ScriptServiceVersion;
  /** The `sequence` of the last line handled (written to the job's log), or −1 before the first. */
  sequence: number;
  /** Lines handled so far, over every attempt. */
  lineCount: number;
  /** Attempts that have followed the script so far. */
  attempts: number;
  /** The last line handled. */
  line?: ScriptJobLine;
  /** How the script ended, recorded before its workspace is removed on the agent. */
  end?: {
    /** The exit code. */
    exitCode: number;
    /** True when it was cancelled. */
    cancelled: boolean;
  };
}
