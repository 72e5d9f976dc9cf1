/**
 * The shapes of {@link TentacleClient.runScriptOnMany}: the targets and options a caller passes, the events a run
 * yields and the summary it resolves to.
 */
import type { Endpoint } from '../client/endpoint.js';
import type { LogLine, RunScriptOptions, ScriptResult } from './types.js';

/** One agent of a run on many targets: where it is, and the name its events and outcome are reported under. */
export interface ScriptTarget extends Endpoint {
  /**
   * Labels the target's events and outcome; unique within the list. Default: the URL's `host:port` (e.g.
   * `web-01:10933`). A non-empty string without control characters (it labels output lines).
   */
  name?: string;
}

/**
 * How {@link TentacleClient.runScriptOnMany} runs: every {@link RunScriptOptions runScript option} except a
 * caller-chosen ticket (a ticket names one run on one agent), each applied to every target, plus how many targets
 * run at once and whether the first failure stops the rest. `timeoutMs` is each target's own limit; `signal` cancels
 * every target.
 */
export interface RunOnManyOptions extends Omit<RunScriptOptions, 'ticket' | 'beforeCleanup'> {
  /**
   * At most this many targets are in progress at once (a whole number, or `Infinity` for no limit). Default 32. A
   * target is in progress from its start until its last event has been taken (or, when nobody iterates, until its
   * run ends), so a slow reader holds back new starts instead of piling up output.
   */
  concurrency?: number;
  /**
   * Stop at the first target that fails (see {@link TargetStatus}): cancel the scripts still running, on their
   * agents, and start no more. Default false: one target's failure never stops the others.
   */
  failFast?: boolean;
}

/**
 * How a target ended:
 * - `succeeded`: its script completed by itself with exit code 0;
 * - `failed`: its script completed with another exit code, or its run failed with an error (unreachable agent,
 *   `timeoutMs` exceeded, …);
 * - `cancelled`: it was started, then cancelled by the signal, `cancel()`, `failFast` or the client closing;
 * - `skipped`: it was never started, because the run was stopped first.
 */
export type TargetStatus = 'succeeded' | 'failed' | 'cancelled' | 'skipped';

/** A target's run was started (the agent may not have been reached yet). Always its first event. */
export interface TargetStartEvent {
  /** What happened. */
  type: 'start';
  /** The target's name. */
  target: string;
}

/** A line of a target's output, in the order that target's run delivers them. */
export interface TargetLineEvent {
  /** What happened. */
  type: 'line';
  /** The target's name. */
  target: string;
  /** The line, as `runScript` delivers it. */
  line: LogLine;
}

/** A target's script ended (by itself or cancelled). Its last event, after all of its lines. */
export interface TargetResultEvent {
  /** What happened. */
  type: 'result';
  /** The target's name. */
  target: string;
  /** How the script ended, as `runScript` reports it. */
  result: ScriptResult;
  /** What the result counts as in the summary. */
  status: Exclude<TargetStatus, 'skipped'>;
}

/** A target's run failed with an error (the agent was unreachable, the time limit ran out, …). Its last event. */
export interface TargetErrorEvent {
  /** What happened. */
  type: 'error';
  /** The target's name. */
  target: string;
  /** Why, as `runScript` rejected (e.g. `ConnectError`, `ScriptTimeoutError`). */
  error: Error;
}

/** A target was never started, because the run was stopped first. Its only event. */
export interface TargetSkippedEvent {
  /** What happened. */
  type: 'skipped';
  /** The target's name. */
  target: string;
  /** `fail-fast`: another target failed under `failFast`; `aborted`: the signal, `cancel()` or the client closing. */
  reason: 'fail-fast' | 'aborted';
}

/**
 * What a run on many targets yields, per target in order: `start`, its `line`s, then `result` or `error`; or only
 * `skipped`. Events of different targets interleave as they happen.
 */
export type TargetEvent = TargetStartEvent | TargetLineEvent | TargetResultEvent | TargetErrorEvent | TargetSkippedEvent;

/** How one target ended, in a {@link ManyRunSummary}. */
export interface TargetOutcome {
  /** The target's name. */
  name: string;
  /** Its URL, normalised (`https://host:port/`). */
  url: string;
  /** How it ended. */
  status: TargetStatus;
  /**
   * The script's exit code: from its result, or from the `ScriptTimeoutError` of a script cancelled for its time
   * limit; `undefined` when no script reported one (never started, unreachable, …).
   */
  exitCode: number | undefined;
  /** The script's result, when it ended with one (`succeeded`, `cancelled`, and `failed` by exit code). */
  result: ScriptResult | undefined;
  /** The error the run failed with, when it failed with one. */
  error: Error | undefined;
  /** Lines of this target that were not delivered: the summary was awaited before iterating, or the loop ended early. */
  droppedLines: number;
}

/** What {@link ManyScriptRun} resolves to once every target has ended. It never rejects: failures are outcomes. */
export interface ManyRunSummary {
  /** Every target's outcome, in the order the targets were given. */
  targets: readonly TargetOutcome[];
  /** The names of the targets that succeeded, in the order given. */
  succeeded: readonly string[];
  /** The names of the targets that failed, in the order given. */
  failed: readonly string[];
  /** The names of the targets that were started and then cancelled, in the order given. */
  cancelled: readonly string[];
  /** The names of the targets that were never started, in the order given. */
  skipped: readonly string[];
  /** Why the run stopped before every target had run: `fail-fast`, `abort` (signal, `cancel()`, client closed), or `undefined`. */
  stoppedBy: 'fail-fast' | 'abort' | undefined;
  /** Lines not delivered, all targets together (see {@link TargetOutcome.droppedLines}). */
  droppedLines: number;
}

/**
 * A script running on many targets: iterate it for every target's events as they happen, and await it for the
 * summary once all have ended.
 *
 * Iterate first, then await: lines are delivered only to the iterator, one at a time from each target's run, and a
 * target stays in progress (holding its place under `concurrency`) until its last event has been taken. Awaiting the
 * summary without having started to iterate means nobody will read the events: lines are then dropped as they
 * arrive, counted in `droppedLines`, and iterating afterwards throws. Leaving the loop early (`break`) drops the
 * rest the same way; the targets still run to their end. A run can be iterated once.
 */
export interface ManyScriptRun extends AsyncIterable<TargetEvent>, PromiseLike<ManyRunSummary> {
  /** The targets' names, in the order given (defaults filled in). */
  readonly targets: readonly string[];
  /** Cancels every running script on its agent and starts no more (the same as aborting `signal`). */
  cancel(reason?: unknown): void;
}
