/**
 * The BullMQ processor that runs a script job on its agent, once, whichever worker takes the job and however
 * often: every attempt first attaches to the job's ticket, and starts the script only when the agent does not know
 * the ticket and no earlier attempt recorded its end. See docs/scaling.md.
 */
import type { Job, Processor } from 'bullmq';
import {
  ScriptExitCodes,
  ScriptNotFoundError,
  ScriptTimeoutError,
  type Endpoint,
  type LogLine,
  type ScriptEnd,
  type ScriptResult,
  type ScriptRun,
  type ScriptWatchOptions,
  type TentacleClient,
} from '../index.js';
import { ScriptJobCancelledError, ScriptJobFailedError, ScriptJobOutcomeUnknownError } from './errors.js';
import { checkScriptJobData, runOptionsOf, type ScriptJobData } from './job-data.js';
import { TakenLines } from './taken-lines.js';
import { DEFAULT_TICKET_PREFIX, scriptJobTicket } from './ticket.js';
import type { ScriptJobProgress, ScriptJobResult } from './types.js';

/** How {@link createScriptJobProcessor}'s processor runs jobs. */
export interface ScriptJobProcessorOptions {
  /** The first part of every job's ticket (see scriptJobTicket): one per deployment sharing the same agents. Default `bullmq`. */
  ticketPrefix?: string;
  /**
   * What a script that exits with a code other than 0 makes of its job: `fail` (default) fails it at once with
   * ScriptJobFailedError, never trying again, since that would run the script again; `complete` completes it with
   * the result, exit code included.
   */
  nonZeroExit?: 'fail' | 'complete';
  /**
   * What an attempt does on an agent that offers only the V1 script service when an earlier attempt may have
   * started the script there (V1 scripts cannot be attached again): `fail` (default) fails the job with
   * ScriptJobOutcomeUnknownError, so that the script runs at most once; `run-again` starts it again.
   */
  v1Retry?: 'fail' | 'run-again';
  /** Write every line to the job's log (`job.log`) as `sequence source text`. Default true. */
  jobLog?: boolean;
  /** How the script's output is watched (see ScriptWatchOptions). */
  watch?: Pick<ScriptWatchOptions, 'keepServiceMessages' | 'maxBufferedLines' | 'maxBufferedBytes'>;
}

/** A BullMQ job holding a script job. */
export type ScriptJob = Job<ScriptJobData, ScriptJobResult>;

/** The processor: give it to `new Worker(queueName, processor, options)`. */
export type ScriptJobProcessor = Processor<ScriptJobData, ScriptJobResult>;

interface Settings {
  readonly prefix: string;
  readonly nonZeroExit: 'fail' | 'complete';
  readonly v1Retry: 'fail' | 'run-again';
  readonly jobLog: boolean;
  readonly watch: ScriptWatchOptions;
}

/**
 * Makes the BullMQ processor that runs script jobs through `tentacle` (added with addScriptJob, or any job whose
 * data is a {@link ScriptJobData}). The job's result is the script's ({@link ScriptJobResult}); its progress
 * ({@link ScriptJobProgress}) follows every line, which also goes to the job's log.
 *
 * Each attempt attaches to the job's ticket from the line after the last one handled, and starts the script under
 * that ticket only when the agent does not know it and no earlier attempt recorded its end. The end is recorded in
 * the job's progress before the agent removes the script's workspace, so an attempt that finds the ticket gone
 * returns the recorded end instead of running the script again. Cancelling the job through the worker
 * (`worker.cancelJob`) cancels the script on its agent. See docs/scaling.md.
 *
 * @throws TypeError for a bad option.
 */
export function createScriptJobProcessor(tentacle: TentacleClient, options: ScriptJobProcessorOptions = {}): ScriptJobProcessor {
  const prefix = options.ticketPrefix ?? DEFAULT_TICKET_PREFIX;
  scriptJobTicket({ queueName: 'check', id: '1', timestamp: 0 }, prefix);
  const nonZeroExit = options.nonZeroExit ?? 'fail';
  if (nonZeroExit !== 'fail' && nonZeroExit !== 'complete') throw new TypeError(`nonZeroExit must be 'fail' or 'complete', got ${String(nonZeroExit)}`);
  const v1Retry = options.v1Retry ?? 'fail';
  if (v1Retry !== 'fail' && v1Retry !== 'run-again') throw new TypeError(`v1Retry must be 'fail' or 'run-again', got ${String(v1Retry)}`);
  const settings: Settings = { prefix, nonZeroExit, v1Retry, jobLog: options.jobLog ?? true, watch: { ...options.watch } };
  // Three parameters, so that BullMQ hands over the job's abort signal.
  return (job, _token, signal) => new ScriptJobAttempt(tentacle, job, settings, signal).run();
}

/** The job's progress, if it is one this processor wrote for this ticket. */
function readProgress(progress: unknown, ticket: string): ScriptJobProgress | undefined {
  if (typeof progress !== 'object' || progress === null) return undefined;
  const p = progress as Partial<ScriptJobProgress>;
  if (p.ticket !== ticket || typeof p.sequence !== 'number' || typeof p.lineCount !== 'number' || typeof p.attempts !== 'number') return undefined;
  return p as ScriptJobProgress;
}

/** A line as the job's log keeps it: its place in the agent's log, where it came from, its text. */
function logRow(line: LogLine): string {
  return `${line.sequence} ${line.level === 'default' ? line.source : `${line.source}:${line.level}`} ${line.text}`;
}

/** One attempt of one job. */
class ScriptJobAttempt {
  readonly #tentacle: TentacleClient;
  readonly #job: ScriptJob;
  readonly #settings: Settings;
  readonly #signal: AbortSignal | undefined;
  readonly #taken = new TakenLines();
  #ticket = '';
  #progress!: ScriptJobProgress;

  constructor(tentacle: TentacleClient, job: ScriptJob, settings: Settings, signal: AbortSignal | undefined) {
    this.#tentacle = tentacle;
    this.#job = job;
    this.#settings = settings;
    this.#signal = signal;
  }

  async run(): Promise<ScriptJobResult> {
    const data = checkScriptJobData(this.#job.data);
    this.#ticket = scriptJobTicket(this.#job, this.#settings.prefix);
    const endpoint: Endpoint = { url: data.target.url, thumbprint: data.target.thumbprint };
    const capabilities = await this.#tentacle.capabilities(endpoint, this.#signal === undefined ? {} : { signal: this.#signal });
    const previous = readProgress(this.#job.progress, this.#ticket);
    return capabilities.scriptService === 'IScriptService' ? this.#runV1(endpoint, data, previous) : this.#runV2(endpoint, data, previous);
  }

  async #runV2(endpoint: Endpoint, data: ScriptJobData, previous: ScriptJobProgress | undefined): Promise<ScriptJobResult> {
    this.#progress = { ticket: this.#ticket, phase: 'starting', sequence: -1, lineCount: 0, ...previous, attempts: (previous?.attempts ?? 0) + 1 };
    const watch: ScriptWatchOptions = { ...this.#settings.watch, beforeCleanup: (end) => this.#recordEnd(end) };
    if (this.#signal !== undefined) watch.signal = this.#signal;

    // Whatever an earlier attempt started (or the agent already runs under this ticket) is followed, never restarted.
    let run: ScriptRun = this.#tentacle.attachScript(endpoint, this.#ticket, { ...watch, fromLogSequence: this.#progress.sequence + 1 });
    let resumed = true;
    if ((await run.started) === undefined) {
      try {
        return this.#finish(await run.result, resumed);
      } catch (error) {
        if (!(error instanceof ScriptNotFoundError)) throw this.#translate(error);
      }
      // The agent no longer knows the ticket. If an earlier attempt recorded the end, the script ran and was cleaned
      // up: that end is the job's. Otherwise it never started (the end is always recorded before the cleanup).
      if (this.#progress.end !== undefined) return this.#recorded();
      await this.#upload(endpoint, data);
      this.#taken.reset();
      resumed = false;
      run = this.#tentacle.runScript(endpoint, { ...runOptionsOf(data.script), ...watch, ticket: this.#ticket });
    }
    return this.#finish(await this.#follow(run, 'IScriptServiceV2'), resumed);
  }

  async #runV1(endpoint: Endpoint, data: ScriptJobData, previous: ScriptJobProgress | undefined): Promise<ScriptJobResult> {
    if (previous !== undefined && this.#settings.v1Retry === 'fail') throw new ScriptJobOutcomeUnknownError(endpoint.url, this.#ticket);
    // A V1 run's lines are numbered afresh, so a run started again is logged from its first line.
    this.#progress = { ticket: this.#ticket, phase: 'starting', service: 'IScriptService', sequence: -1, lineCount: previous?.lineCount ?? 0, attempts: (previous?.attempts ?? 0) + 1 };
    // Recorded before the start goes out: a later attempt then knows that the script may have run.
    await this.#save({});
    await this.#upload(endpoint, data);
    const watch: ScriptWatchOptions = { ...this.#settings.watch };
    if (this.#signal !== undefined) watch.signal = this.#signal;
    return this.#finish(await this.#follow(this.#tentacle.runScript(endpoint, { ...runOptionsOf(data.script), ...watch, service: 'IScriptService' }), 'IScriptService'), false);
  }

  async #upload(endpoint: Endpoint, data: ScriptJobData): Promise<void> {
    for (const upload of data.uploads ?? []) {
      await this.#tentacle.uploadFile(endpoint, upload.to, upload.from, this.#signal === undefined ? {} : { signal: this.#signal });
    }
  }

  /** Handles every line of the run, once each across attempts, and returns how it ended. */
  async #follow(run: ScriptRun, service: ScriptJobProgress['service'] & string): Promise<ScriptResult> {
    try {
      for await (const line of run) {
        if (line.sequence > this.#progress.sequence || service === 'IScriptService') {
          if (this.#settings.jobLog) await this.#job.log(logRow(line));
          const { source, text, level, sequence } = line;
          await this.#save({ phase: 'running', service, sequence, lineCount: this.#progress.lineCount + 1, line: { source, text, level, sequence } });
        }
        this.#taken.took();
      }
      return await run.result;
    } catch (error) {
      // Whatever stopped the reader (Redis, or the run itself): the end must not be recorded without its lines.
      this.#taken.fail(error);
      throw this.#translate(error);
    }
  }

  /** The run's beforeCleanup: records the end once every line before it is handled, before the workspace goes. */
  async #recordEnd(end: ScriptEnd): Promise<void> {
    if (end.exitCode === ScriptExitCodes.UnknownScript && !end.cancelled) {
      // Another watcher (a worker that lost the job's lock but not its run) saw the end first, recorded it and
      // cleaned up: the next attempt reads what it recorded.
      throw new Error(`The script of ticket ${end.ticket} was cleaned up by another watcher; its recorded end is read on the next attempt`);
    }
    await this.#taken.reached(end.lineCount);
    await this.#save({ phase: 'ended', end: { exitCode: end.exitCode, cancelled: end.cancelled } });
  }

  async #save(patch: Partial<ScriptJobProgress>): Promise<void> {
    this.#progress = { ...this.#progress, ...patch };
    await this.#job.updateProgress(this.#progress);
  }

  /** The end an earlier attempt recorded before the agent cleaned up. */
  #recorded(): ScriptJobResult {
    const end = this.#progress.end!;
    const result: ScriptJobResult = {
      ticket: this.#ticket,
      service: 'IScriptServiceV2',
      exitCode: end.exitCode,
      cancelled: end.cancelled,
      lineCount: this.#progress.lineCount,
      attempts: this.#progress.attempts - 1,
      resumed: true,
      workspaceCleanedUp: true,
    };
    return this.#judge(result);
  }

  #finish(outcome: ScriptResult, resumed: boolean): ScriptJobResult {
    const result: ScriptJobResult = {
      ticket: outcome.ticket === '' ? this.#ticket : outcome.ticket,
      service: outcome.service,
      exitCode: outcome.exitCode,
      cancelled: outcome.cancelled,
      lineCount: this.#progress.lineCount,
      attempts: this.#progress.attempts,
      resumed,
      workspaceCleanedUp: outcome.workspaceCleanedUp,
    };
    return this.#judge(result);
  }

  #judge(result: ScriptJobResult): ScriptJobResult {
    if (result.cancelled) throw new ScriptJobCancelledError(this.#ticket, this.#signal?.aborted === true ? `the job was cancelled (${String(this.#signal.reason)})` : 'cancelled');
    if (result.exitCode !== 0 && this.#settings.nonZeroExit === 'fail') throw new ScriptJobFailedError(result);
    return result;
  }

  #translate(error: unknown): unknown {
    if (error instanceof ScriptTimeoutError) return new ScriptJobCancelledError(this.#ticket, `it ran longer than its timeoutMs (${error.timeoutMs} ms)`, { cause: error });
    return error;
  }
}
