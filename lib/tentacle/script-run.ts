/**
 * The object runScript and attachScript return: an async iterator over log lines as they arrive, a promise of the
 * result, and the script's ticket as soon as it is known. Lines wait in a bounded {@link LineBuffer} until read; a
 * run that is only awaited still completes, and one that is only iterated still ends (the iterator throws the run's
 * error, if any, after the last line).
 */
import { LineBuffer, type LineBufferLimits } from './line-buffer.js';
import type { LogLine, ScriptResult, ScriptRun, ScriptServiceVersion, ScriptStarted } from './types.js';

/** What the code that executes a run is given to report through it. */
export interface RunReporter {
  /** Delivers lines to the reader. */
  emit(lines: readonly LogLine[]): void;
  /** Resolves when the reader has room for more lines (false when `signal` fired first); `onPause` if it must wait. */
  room(signal: AbortSignal, onPause: (bufferedLines: number, bufferedBytes: number) => void): Promise<boolean>;
  /** The ticket is known (it may not have reached the agent yet). */
  ticketKnown(ticket: string): void;
  /** The agent has the script. */
  started(ticket: string, service: ScriptServiceVersion): void;
  /** Lines received but not kept for the reader so far. */
  readonly droppedLines: number;
}

export class ScriptRunHandle implements ScriptRun {
  readonly result: Promise<ScriptResult>;
  readonly started: Promise<ScriptStarted | undefined>;
  readonly #lines: LineBuffer;
  #ticket: string | undefined;
  #error: unknown;
  #failed = false;
  readonly #cancel: (reason?: unknown) => void;

  /** `execute` receives the reporter it delivers lines and progress through; its outcome is the run's. */
  constructor(execute: (reporter: RunReporter) => Promise<ScriptResult>, cancel: (reason?: unknown) => void, limits: LineBufferLimits, ticket?: string) {
    this.#cancel = cancel;
    this.#lines = new LineBuffer(limits);
    this.#ticket = ticket;
    let markStarted!: (started: ScriptStarted | undefined) => void;
    this.started = new Promise((resolve) => (markStarted = resolve));
    const lines = this.#lines;
    const reporter: RunReporter = {
      emit: (batch) => lines.push(batch),
      room: (signal, onPause) => lines.room(signal, () => onPause(lines.size, lines.bytes)),
      ticketKnown: (known) => {
        this.#ticket = known;
      },
      started: (known, service) => {
        this.#ticket = known;
        markStarted({ ticket: known, service });
      },
      get droppedLines() {
        return lines.dropped;
      },
    };
    this.result = execute(reporter).then(
      (result) => {
        this.#end();
        return result;
      },
      (err: unknown) => {
        this.#failed = true;
        this.#error = err;
        this.#end();
        throw err;
      },
    );
    // Whoever only iterates sees the error there; an unobserved rejection must not take the process down.
    this.result.catch(() => undefined);
    // A run that ended without the agent ever having the script: `started` says so (the first resolve wins).
    const notStarted = (): void => markStarted(undefined);
    this.result.then(notStarted, notStarted);
  }

  get ticket(): string | undefined {
    return this.#ticket;
  }

  cancel(reason?: unknown): void {
    this.#cancel(reason);
  }

  then<T1 = ScriptResult, T2 = never>(
    onfulfilled?: ((value: ScriptResult) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.result.then(onfulfilled, onrejected);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogLine> {
    yield* this.#lines.read();
    if (this.#failed) throw this.#error;
  }

  #end(): void {
    this.#lines.end();
  }
}
