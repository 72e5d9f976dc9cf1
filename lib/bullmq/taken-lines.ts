/**
 * Counts the lines a job's reader has handled, so that the end of a script is recorded only once every line before
 * it is in the job's log: what the processor's `beforeCleanup` waits on.
 */
interface Waiter {
  readonly count: number;
  resolve(): void;
  reject(error: unknown): void;
}

export class TakenLines {
  #count = 0;
  readonly #waiters = new Set<Waiter>();
  #failure: { error: unknown } | undefined;

  /** A new run: its lines count from 0. */
  reset(): void {
    this.#count = 0;
  }

  /** One more line handled. */
  took(): void {
    this.#count += 1;
    for (const waiter of this.#waiters) {
      if (this.#count < waiter.count) continue;
      this.#waiters.delete(waiter);
      waiter.resolve();
    }
  }

  /** The reader stopped with `error`: nothing more will be handled, and every wait fails with it. */
  fail(error: unknown): void {
    this.#failure ??= { error };
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
  }

  /** Resolves once `count` lines of the current run have been handled; rejects if the reader stopped first. */
  async reached(count: number): Promise<void> {
    if (this.#count >= count) return;
    if (this.#failure !== undefined) throw this.#failure.error;
    await new Promise<void>((resolve, reject) => this.#waiters.add({ count, resolve, reject }));
  }
}
