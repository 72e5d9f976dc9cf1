/**
 * Pull-based reading from a socket with exact byte accounting.
 *
 * Halibut frames nothing with lengths except data streams: a message ends where its DEFLATE stream ends and a control
 * line ends at CRLF. Whoever parses must be able to take exactly what it needs and hand the rest back. This reader
 * pulls from the socket only when a parser asks (so TCP backpressure works) and keeps what was handed back.
 */
import type { Duplex } from 'node:stream';
import type { Phase } from '../errors.js';
import { DeadlineTimer } from './deadline-timer.js';
import { connectionFailed, ConnectionClosedError, PhaseTimeoutError } from './errors.js';
import type { RateFloor } from './rate-floor.js';
import type { DeadlineOptions } from '../util/abort.js';

/** How long a single read may wait, and what to call the phase if it times out. */
export interface ReadDeadline {
  /** Milliseconds; `Infinity` for none. */
  timeoutMs: number;
  /** What a timeout is reported as. */
  phase: Phase;
  /**
   * When the whole phase must be over (a `performance.now()` time), however the peer paces its bytes: a peer that
   * sends a byte just often enough to beat `timeoutMs` is still stopped here. None when undefined.
   */
  endsAt?: number | undefined;
  /**
   * A minimum transfer rate the reads under this deadline must keep up, for bodies too large for a total deadline.
   * Shared by copies of the deadline, so that it counts the whole body. None when undefined.
   */
  rate?: RateFloor | undefined;
}

/**
 * A {@link ReadDeadline} with every field present, so that all deadlines share one object shape: the reader runs
 * several times per call, and property reads on objects of one shape stay on V8's fast path (a mix of shapes made
 * each read, and each copy of a deadline, measurably slower).
 */
export function readDeadline(phase: Phase, timeoutMs: number, endsAt?: number, rate?: RateFloor): ReadDeadline {
  return { timeoutMs, phase, endsAt, rate };
}

export class ByteReader {
  readonly #socket: Duplex;
  readonly #pending: Buffer[] = [];
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #bytesRead = 0;
  /** The deadline of the wait in progress, on one timer kept for the life of the connection. */
  readonly #deadline = new DeadlineTimer();

  constructor(socket: Duplex) {
    this.#socket = socket;
    const wake = (): void => {
      const w = this.#wake;
      this.#wake = undefined;
      w?.();
    };
    socket.on('readable', wake);
    socket.on('end', () => {
      this.#ended = true;
      wake();
    });
    socket.on('error', (err: Error) => {
      // Socket errors (a reset, a TLS record that fails its check) become our typed error; the original is the cause.
      this.#failure ??= connectionFailed(err);
      wake();
    });
    socket.on('close', () => {
      // A close without 'end' means the connection was reset or destroyed locally.
      this.#failure ??= this.#ended ? undefined : new ConnectionClosedError('The connection was closed or reset');
      this.#ended = true;
      wake();
      this.#deadline.dispose();
    });
  }

  /** Total bytes handed to parsers so far (minus what they gave back). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Fails the reader: any pending and later read rejects with `error`. */
  fail(error: Error): void {
    this.#failure ??= error;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /**
   * Returns between 1 and `max` bytes, or `null` on a clean end of stream. Waits for data no longer than the deadline.
   */
  async read(max: number, deadline?: ReadDeadline): Promise<Buffer | null> {
    let waitedMs = 0;
    for (;;) {
      // Checked even when bytes are waiting: a peer that floods can beat any wait, never the phase's end.
      if (deadline?.endsAt !== undefined && performance.now() >= deadline.endsAt) throw phaseOver(deadline);
      const chunk = this.#take(max);
      if (chunk !== null) {
        const tooSlow = deadline?.rate?.count(chunk.length, waitedMs);
        if (tooSlow !== undefined) throw tooSlow;
        return chunk;
      }
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#ended) return null;
      const started = performance.now();
      await this.#waitForData(deadline);
      waitedMs += performance.now() - started;
    }
  }

  /** Reads exactly `n` bytes; a premature end is a {@link ConnectionClosedError} described by `what`. */
  async readExact(n: number, what: string, deadline?: ReadDeadline): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const chunk = await this.read(n - have, deadline);
      if (chunk === null) throw new ConnectionClosedError(`The connection ended after ${have} of ${n} bytes of ${what}`);
      parts.push(chunk);
      have += chunk.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  /** Gives bytes back; the next read returns them first. */
  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#bytesRead -= bytes.length;
    this.#pending.unshift(bytes);
  }

  #take(max: number): Buffer | null {
    let chunk = this.#pending.shift() ?? null;
    if (chunk === null) chunk = this.#socket.read() as Buffer | null;
    if (chunk === null) return null;
    if (chunk.length > max) {
      this.#pending.unshift(chunk.subarray(max));
      chunk = chunk.subarray(0, max);
    }
    this.#bytesRead += chunk.length;
    return chunk;
  }

  #timedOut(expired: () => Error, reject: (err: Error) => void): void {
    this.#wake = undefined;
    reject(expired());
  }

  #waitForData(deadline: ReadDeadline | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (deadline === undefined || !Number.isFinite(deadline.timeoutMs)) {
        this.#wake = resolve;
        return;
      }
      // The wait is the shortest of three: the inactivity limit, what is left of the whole phase, and a rate floor's
      // window (no byte for a whole window is below any floor). Which one ends the wait is decided here, not when the
      // timer fires: timers may fire up to a millisecond before performance.now() says the time is up. A wait that
      // starts with (almost) the whole phase left is silence, and is reported as such.
      const left = deadline.endsAt === undefined ? Infinity : Math.max(0, deadline.endsAt - performance.now());
      const phase: DeadlineOptions =
        left < deadline.timeoutMs - 1
          ? { timeoutMs: left, expired: () => phaseOver(deadline) }
          : { timeoutMs: deadline.timeoutMs, expired: () => new PhaseTimeoutError(deadline.phase, deadline.timeoutMs, 'no data arrived from the peer') };
      const limit = deadline.rate?.bound(0, phase) ?? phase;
      const waitMs = limit.timeoutMs ?? Infinity;
      const { expired } = limit;
      if (this.#deadline.busy) {
        // Another wait still holds the kept timer (not something this library does): give this one its own.
        const timer = setTimeout(() => this.#timedOut(expired, reject), waitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
        return;
      }
      this.#wake = () => {
        this.#deadline.stop();
        resolve();
      };
      this.#deadline.start(waitMs, () => this.#timedOut(expired, reject));
    });
  }
}

/** The error for a phase whose whole time is up although bytes kept coming. */
function phaseOver(deadline: ReadDeadline): PhaseTimeoutError {
  return new PhaseTimeoutError(deadline.phase, deadline.timeoutMs, 'the phase as a whole took longer than that (the peer sent its bytes too slowly)');
}
