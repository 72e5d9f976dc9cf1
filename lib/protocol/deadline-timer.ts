/**
 * The deadline of one operation at a time (a read waiting for data, a write waiting to be taken), on a timer that is
 * kept from one operation to the next instead of being created and cleared for each.
 *
 * A connection runs several timed operations per call, each finishing long before its deadline; a new timer for each
 * costs more than the operation's own bookkeeping. Here the timer set for one operation stays armed after it ends:
 *
 * - an operation whose deadline is no earlier than the armed timer keeps that timer, which on firing sets itself
 *   again for the time that remains (so the operation fails at the same moment as with a timer of its own);
 * - an operation with an earlier deadline replaces the timer;
 * - a firing with no operation running does nothing, and between operations the timer does not keep the process
 *   alive. {@link dispose} clears it (when the connection closes).
 */
export class DeadlineTimer {
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (performance clock). */
  #due = 0;
  /** Whether the armed timer was set for the running operation itself (it then fires exactly at its deadline). */
  #exact = false;
  /** The running operation's deadline and what to do when it passes. */
  #ends = 0;
  #onExpire: (() => void) | undefined;
  readonly #fire = (): void => {
    this.#timer = undefined;
    const onExpire = this.#onExpire;
    if (onExpire === undefined) return;
    const left = this.#exact ? 0 : this.#ends - performance.now();
    if (left > 0) {
      // Whole milliseconds, rounded up, so that it never fires before the deadline.
      this.#arm(Math.ceil(left));
      return;
    }
    this.#onExpire = undefined;
    onExpire();
  };

  /** True while an operation is running. */
  get busy(): boolean {
    return this.#onExpire !== undefined;
  }

  /** Starts an operation that must end (with {@link stop}) within `timeoutMs`; otherwise `onExpire` runs. */
  start(timeoutMs: number, onExpire: () => void): void {
    const ends = performance.now() + timeoutMs;
    this.#ends = ends;
    this.#onExpire = onExpire;
    if (this.#timer !== undefined && this.#due <= ends) {
      this.#exact = false;
      this.#timer.ref();
      return;
    }
    clearTimeout(this.#timer);
    this.#arm(timeoutMs);
  }

  /** Ends the running operation in time. */
  stop(): void {
    this.#onExpire = undefined;
    this.#timer?.unref();
  }

  /** Clears the timer; nothing fires afterwards. */
  dispose(): void {
    this.#onExpire = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#fire, ms);
    this.#due = performance.now() + ms;
    this.#exact = true;
  }
}
