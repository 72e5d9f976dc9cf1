/**
 * A minimum transfer rate for bodies that may legitimately be large (the rest of a response message, data streams),
 * in the manner of curl's low-speed limit: where a total deadline would cut off a big download on a slow link, a
 * floor stops only a peer that moves too few bytes per second of waiting.
 *
 * Only time spent waiting for the peer counts. A caller that reads a download slowly (backpressure from a slow disk)
 * makes bytes arrive slowly without the peer being slow; that time is not the peer's, so it is left out.
 */
import type { Phase } from '../errors.js';
import type { DeadlineOptions } from '../util/abort.js';
import { PhaseTimeoutError } from './errors.js';

/** The floor's settings. */
export interface TransferRateLimit {
  /** Fewest bytes per second of waiting, on average over a window; 0 for no floor. */
  bytesPerSecond: number;
  /** How much waiting the average is taken over, ms. */
  windowMs: number;
}

/** One transfer's count against a {@link TransferRateLimit}; shared by the reads (or writes) of one body. */
export class RateFloor {
  readonly #limit: TransferRateLimit;
  readonly #phase: Phase;
  #waitedMs = 0;
  #bytes = 0;

  constructor(limit: TransferRateLimit, phase: Phase) {
    this.#limit = limit;
    this.#phase = phase;
  }

  /** A floor for `limit`, or none when its rate is 0. */
  static of(limit: TransferRateLimit | undefined, phase: Phase): RateFloor | undefined {
    return limit === undefined || limit.bytesPerSecond <= 0 ? undefined : new RateFloor(limit, phase);
  }

  /**
   * The longest one wait for the peer to take (or send) `pending` bytes may last: what those bytes take at the floor
   * rate, and never less than a window. A wait that would see no progress for longer fails at once by the floor
   * rather than at the much longer inactivity limit (see {@link bound}).
   */
  maxWaitMs(pending: number): number {
    const { bytesPerSecond, windowMs } = this.#limit;
    return Math.max(windowMs, (pending * 1000) / bytesPerSecond);
  }

  /**
   * A wait's limit tightened by the floor: `limit` itself, or {@link maxWaitMs} for `pending` bytes when that is
   * shorter, ending with the floor's error for a stall.
   */
  bound(pending: number, limit: DeadlineOptions): DeadlineOptions {
    const floorMs = this.maxWaitMs(pending);
    if (floorMs >= (limit.timeoutMs ?? Infinity)) return limit;
    return { timeoutMs: floorMs, expired: () => this.#stalled(pending, floorMs) };
  }

  /** The error for a wait cut off at {@link maxWaitMs}: `pending` bytes did not move in `waitedMs`. */
  #stalled(pending: number, waitedMs: number): PhaseTimeoutError {
    return this.#error(`the peer moved none of ${pending === 0 ? 'the expected bytes' : `${pending} bytes`} in ${(waitedMs / 1000).toFixed(1)} s`);
  }

  #error(what: string): PhaseTimeoutError {
    return new PhaseTimeoutError(this.#phase, this.#limit.windowMs, `${what}, below the floor of ${this.#limit.bytesPerSecond} bytes/s (minTransferRate)`);
  }

  /**
   * Counts `bytes` moved after `waitedMs` of waiting for the peer. Returns the error to fail with once a whole window
   * of waiting has moved fewer bytes than the floor asks for; then starts a new window.
   */
  count(bytes: number, waitedMs: number): PhaseTimeoutError | undefined {
    this.#waitedMs += waitedMs;
    this.#bytes += bytes;
    const { bytesPerSecond, windowMs } = this.#limit;
    if (this.#waitedMs < windowMs) return undefined;
    const seconds = this.#waitedMs / 1000;
    const moved = this.#bytes;
    this.#waitedMs = 0;
    this.#bytes = 0;
    if (moved >= bytesPerSecond * seconds) return undefined;
    return this.#error(`the peer moved ${moved} bytes in ${seconds.toFixed(1)} s of waiting`);
  }
}
