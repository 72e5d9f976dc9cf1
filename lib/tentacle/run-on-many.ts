/**
 * One script on many targets: a `runScript` per target, at most `concurrency` in progress at once, their lines and
 * endings merged into one stream of events and a summary.
 *
 * Memory stays bounded whatever the consumer does. Lines are pulled from each target's run only as the consumer
 * takes events (one waits here per target in progress; the rest wait in the run itself), and a target keeps its
 * place under `concurrency` until its last event has been taken, so a slow reader holds back new starts rather than
 * piling up output. When nobody will read the events (the summary was awaited first, or the loop was left), lines
 * are dropped as they arrive and counted.
 */
import type { Endpoint } from '../client/endpoint.js';
import { abortReason, addAbortListener, isAborted } from '../util/abort.js';
import { ScriptTimeoutError } from './errors.js';
import { EventHandover } from './event-handover.js';
import type { ManyRunSummary, ManyScriptRun, RunOnManyOptions, ScriptTarget, TargetEvent, TargetOutcome, TargetStatus } from './run-on-many-types.js';
import { nameTargets, type NamedTarget } from './script-targets.js';
import type { RunScriptOptions, ScriptResult, ScriptRun } from './types.js';

/**
 * How many targets are in progress at once unless told otherwise. Each costs a script process on its agent and, on
 * this side, a poll timer, a pooled connection while it calls and one run's buffered lines. 32 keeps a fleet of a
 * thousand short scripts moving in a few dozen rounds, while a list given by mistake starts a script on 32 agents,
 * not on all of them, and a burst of new TLS connections stays small.
 */
export const DEFAULT_CONCURRENCY = 32;

/** Starts one target's run: the client's own runScript, so that each run is tracked and closed like any other. */
export type StartRun = (endpoint: Endpoint, options: RunScriptOptions) => ScriptRun;

/**
 * A target's progress: `waiting` to start, `running` (its script run has not ended), `delivering` (it has ended and
 * its last events are being taken), `ended` (all its events taken or dropped, or it was skipped).
 */
type Phase = 'waiting' | 'running' | 'delivering' | 'ended';

interface TargetState {
  readonly target: NamedTarget;
  phase: Phase;
  run: ScriptRun | undefined;
  status: TargetStatus | undefined;
  result: ScriptResult | undefined;
  error: Error | undefined;
  droppedLines: number;
}

/**
 * Who reads the events: not decided yet (they are kept, within the bounds above), the iterator, or nobody (the
 * summary was awaited first: lines are dropped).
 */
type Consumer = 'undecided' | 'iterator' | 'summary-only';

export class ManyRun implements ManyScriptRun {
  readonly targets: readonly string[];
  readonly #states: readonly TargetState[];
  readonly #start: StartRun;
  readonly #runOptions: RunScriptOptions;
  readonly #concurrency: number;
  readonly #failFast: boolean;
  readonly #events = new EventHandover<TargetEvent>();
  readonly #summary: Promise<ManyRunSummary>;
  #resolveSummary: (summary: ManyRunSummary) => void = () => undefined;
  #done = false;
  #abortListener: Disposable | undefined;
  #consumer: Consumer = 'undecided';
  /** The index of the next target to start. */
  #next = 0;
  #inProgress = 0;
  #unended: number;
  #stoppedBy: ManyRunSummary['stoppedBy'];

  /**
   * Checks everything, then starts the first targets at once.
   *
   * @throws TypeError for a bad `concurrency` or target list, InvalidTargetError, DuplicateTargetNameError.
   */
  constructor(targets: readonly ScriptTarget[], options: RunOnManyOptions, start: StartRun) {
    const { concurrency, failFast, signal, ...runOptions } = options;
    this.#concurrency = checkConcurrency(concurrency);
    const named = nameTargets(targets);
    this.targets = named.map((t) => t.name);
    this.#states = named.map((target) => ({ target, phase: 'waiting', run: undefined, status: undefined, result: undefined, error: undefined, droppedLines: 0 }));
    this.#unended = named.length;
    this.#start = start;
    this.#runOptions = runOptions;
    this.#failFast = failFast === true;
    this.#summary = new Promise((resolve) => (this.#resolveSummary = resolve));
    // Checked now rather than left to the listener (which would fire on the next tick): a fired signal starts nothing.
    if (isAborted(signal)) this.#stop('abort', abortReason(signal));
    else this.#abortListener = addAbortListener(signal, () => this.#stop('abort', abortReason(signal)));
    this.#launch();
    this.#endIfDone();
  }

  /** @internal Settles when every target has ended; unlike `then`, it leaves the events to the iterator. */
  get ended(): Promise<unknown> {
    return this.#summary;
  }

  cancel(reason?: unknown): void {
    this.#stop('abort', reason ?? new Error('The run on many targets was cancelled'));
  }

  then<T1 = ManyRunSummary, T2 = never>(
    onfulfilled?: ((value: ManyRunSummary) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    if (this.#consumer === 'undecided') {
      // Awaited before anyone iterated: nobody will read the lines, and keeping them would hold every target's place.
      this.#consumer = 'summary-only';
      this.#events.discard();
    }
    return this.#summary.then(onfulfilled, onrejected);
  }

  [Symbol.asyncIterator](): AsyncIterator<TargetEvent> {
    if (this.#consumer === 'iterator') throw new TypeError('A run on many targets can be iterated only once');
    if (this.#consumer === 'summary-only') {
      throw new TypeError('This run on many targets was awaited before it was iterated, so its lines were dropped: iterate it first, then await it');
    }
    this.#consumer = 'iterator';
    return this.#iterate();
  }

  async *#iterate(): AsyncGenerator<TargetEvent, void, undefined> {
    try {
      for (let event = await this.#events.take(); event !== undefined; event = await this.#events.take()) yield event;
    } finally {
      // Left early (break, or a throw in the loop): nobody will read the rest, which must not hold the targets back.
      this.#events.discard();
    }
  }

  /** Starts targets while there are places under `concurrency`. */
  #launch(): void {
    while (this.#stoppedBy === undefined && this.#inProgress < this.#concurrency && this.#next < this.#states.length) {
      const state = this.#states[this.#next++]!;
      this.#inProgress++;
      void this.#follow(state).then(() => {
        state.phase = 'ended';
        state.run = undefined; // what the summary needs is kept apart; a fleet's worth of finished runs is not
        this.#unended--;
        this.#inProgress--;
        this.#launch();
        this.#endIfDone();
      });
    }
  }

  /** Runs one target and hands over its events in order: start, lines, then result or error. Never rejects. */
  async #follow(state: TargetState): Promise<void> {
    const target = state.target.name;
    state.phase = 'running';
    let run: ScriptRun;
    try {
      run = this.#start(state.target.endpoint, this.#runOptions);
    } catch (err) {
      // The options were checked before anything started, so this is not expected; it is still this target's failure.
      this.#ended(state, undefined, err);
      await this.#events.offer({ type: 'start', target });
      await this.#events.offer({ type: 'error', target, error: state.error! });
      return;
    }
    state.run = run;
    // The outcome is taken as soon as the run ends, not when its last event is read, so that failFast acts at once.
    const ended = run.result.then(
      (result) => this.#ended(state, result, undefined),
      (err: unknown) => this.#ended(state, undefined, err),
    );
    await this.#events.offer({ type: 'start', target });
    try {
      for await (const line of run) {
        if (!(await this.#events.offer({ type: 'line', target, line }))) state.droppedLines++;
      }
    } catch {
      // The run's error, thrown after its last line: it is reported from the run's result, below.
    }
    await ended;
    if (state.error !== undefined) await this.#events.offer({ type: 'error', target, error: state.error });
    else await this.#events.offer({ type: 'result', target, result: state.result!, status: state.status as Exclude<TargetStatus, 'skipped'> });
  }

  /** Records how a target's run ended, and stops the rest if it failed under failFast. */
  #ended(state: TargetState, result: ScriptResult | undefined, err: unknown): void {
    state.phase = 'delivering';
    if (result === undefined) {
      state.error = err instanceof Error ? err : new Error(String(err));
      state.status = 'failed';
    } else {
      state.result = result;
      state.status = result.cancelled ? 'cancelled' : result.exitCode === 0 ? 'succeeded' : 'failed';
    }
    if (state.status === 'failed' && this.#failFast) this.#stop('fail-fast', new Error(`The target '${state.target.name}' failed and failFast is set`));
  }

  /** Starts no more targets (each is reported skipped) and cancels every script still running, on its agent. */
  #stop(by: 'fail-fast' | 'abort', reason: unknown): void {
    if (this.#stoppedBy !== undefined) return;
    this.#stoppedBy = by;
    for (const state of this.#states.slice(this.#next)) {
      state.phase = 'ended';
      state.status = 'skipped';
      this.#unended--;
      void this.#events.offer({ type: 'skipped', target: state.target.name, reason: by === 'fail-fast' ? 'fail-fast' : 'aborted' });
    }
    this.#next = this.#states.length;
    for (const state of this.#states) if (state.phase === 'running') state.run?.cancel(reason);
    this.#endIfDone();
  }

  #endIfDone(): void {
    if (this.#done || this.#unended > 0) return;
    this.#done = true;
    this.#abortListener?.[Symbol.dispose]();
    this.#events.end();
    this.#resolveSummary(this.#summarise());
  }

  #summarise(): ManyRunSummary {
    const targets: TargetOutcome[] = this.#states.map((s) => ({
      name: s.target.name,
      url: s.target.url,
      status: s.status ?? 'skipped',
      exitCode: s.result?.exitCode ?? (s.error instanceof ScriptTimeoutError ? s.error.exitCode : undefined),
      result: s.result,
      error: s.error,
      droppedLines: s.droppedLines,
    }));
    const named = (status: TargetStatus): string[] => targets.filter((t) => t.status === status).map((t) => t.name);
    return {
      targets,
      succeeded: named('succeeded'),
      failed: named('failed'),
      cancelled: named('cancelled'),
      skipped: named('skipped'),
      stoppedBy: this.#stoppedBy,
      droppedLines: targets.reduce((sum, t) => sum + t.droppedLines, 0),
    };
  }
}

function checkConcurrency(value: number | undefined): number {
  if (value === undefined) return DEFAULT_CONCURRENCY;
  if (value === Infinity || (Number.isInteger(value) && value >= 1)) return value;
  throw new TypeError(`concurrency must be a whole number of at least 1, or Infinity, got ${String(value)}`);
}
