/**
 * The object runScript returns: an async iterator over log lines as they arrive, and a promise of the result.
 * Lines wait in a queue until read; a run that is only awaited still completes, and one that is only iterated
 * still ends (the iterator throws the run's error, if any, after the last line).
 */
import type { LogLine, ScriptResult, ScriptRun } from './types.js';

export class ScriptRunHandle implements ScriptRun {
  readonly result: Promise<ScriptResult>;
  readonly #queue: LogLine[] = [];
  #waiting: (() => void) | undefined;
  #ended = false;
  #error: unknown;
  #failed = false;
  #iterated = false;
  readonly #cancel: (reason?: unknown) => void;

  /** `execute` receives a function that delivers lines; its outcome is the run's. */
  constructor(execute: (emit: (lines: readonly LogLine[]) => void) => Promise<ScriptResult>, cancel: (reason?: unknown) => void) {
    this.#cancel = cancel;
    this.result = execute((lines) => this.#push(lines)).then(
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
    if (this.#iterated) throw new TypeError('A script run can be iterated only once');
    this.#iterated = true;
    for (;;) {
      const line = this.#queue.shift();
      if (line !== undefined) {
        yield line;
        continue;
      }
      if (this.#ended) break;
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
    if (this.#failed) throw this.#error;
  }

  #push(lines: readonly LogLine[]): void {
    if (lines.length === 0) return;
    this.#queue.push(...lines);
    this.#wake();
  }

  #end(): void {
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}
