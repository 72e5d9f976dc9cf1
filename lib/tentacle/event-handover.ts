/**
 * The hand-over between many producers and one consumer, with back-pressure: a producer offers one item and waits
 * until the consumer has taken it before it offers the next. What waits here is therefore at most one item per
 * producer, however slowly the consumer takes them (plus whatever was offered without waiting, which the caller
 * bounds).
 *
 * Once the consumer is gone (`discard()`), items are no longer kept: an offer resolves at once with `false`.
 */
export class EventHandover<T> {
  readonly #queue: Array<{ item: T; taken: (taken: boolean) => void }> = [];
  #state: 'open' | 'ended' | 'discarding' = 'open';
  #wake: (() => void) | undefined;

  /**
   * Hands `item` to the consumer; resolves `true` once it has been taken, `false` if it was discarded (now or
   * later) because nobody consumes any more.
   */
  offer(item: T): Promise<boolean> {
    if (this.#state === 'discarding') return Promise.resolve(false);
    return new Promise<boolean>((taken) => {
      this.#queue.push({ item, taken });
      this.#notify();
    });
  }

  /** The next item, in the order offered; `undefined` once the producers are done and nothing is left. */
  async take(): Promise<T | undefined> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        next.taken(true);
        return next.item;
      }
      if (this.#state !== 'open') return undefined;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** No more items will be offered: `take` returns `undefined` once the queue is empty. */
  end(): void {
    if (this.#state === 'open') this.#state = 'ended';
    this.#notify();
  }

  /** The consumer is gone: what waits is dropped (its offers resolve `false`), and so is whatever comes later. */
  discard(): void {
    this.#state = 'discarding';
    for (const waiting of this.#queue.splice(0)) waiting.taken(false);
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
