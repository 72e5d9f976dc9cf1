// Holds service calls on an agent until the test opens it, counting the calls that reached it.
export class Gate {
  /** Calls that reached the gate so far. */
  entered = 0;
  #open = false;
  readonly #waiting: Array<() => void> = [];

  /** Resolves once the gate is open (at once if it already is). */
  async pass(): Promise<void> {
    this.entered++;
    if (!this.#open) await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  open(): void {
    this.#open = true;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}
