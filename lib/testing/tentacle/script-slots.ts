/**
 * An optional cap on the scripts an agent runs at once (a Tentacle has none): beyond it, scripts wait their turn
 * in arrival order, the way they wait for an isolation mutex, and a cancel while waiting ends the wait.
 */

/** Gives a slot back. Calling it again does nothing. */
export type ReleaseSlot = () => void;

export class ScriptSlots {
  readonly limit: number;
  #used = 0;
  readonly #queue: Array<() => void> = [];

  /** `limit`: how many scripts may run at once; Infinity for no cap. */
  constructor(limit: number) {
    this.limit = limit;
  }

  /** True when a script would have to wait. */
  get full(): boolean {
    return this.#used >= this.limit || this.#queue.length > 0;
  }

  /** Takes a slot, waiting for one if needed. Rejects with `signal.reason` (or an Error) when cancelled first. */
  take(signal: AbortSignal): Promise<ReleaseSlot> {
    if (signal.aborted) return Promise.reject(new Error('cancelled'));
    if (!this.full) return Promise.resolve(this.#grant());
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const waiter = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(this.#grant());
      };
      const onAbort = (): void => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(new Error('cancelled'));
        this.#pump();
      };
      this.#queue.push(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #grant(): ReleaseSlot {
    this.#used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used--;
      this.#pump();
    };
  }

  #pump(): void {
    while (this.#used < this.limit && this.#queue.length > 0) this.#queue.shift()!();
  }
}
