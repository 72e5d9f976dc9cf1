/**
 * The lines of a script run between the agent and the caller's iterator, bounded by count and bytes.
 *
 * Who reads decides what a full buffer does. While the caller iterates, a full buffer holds the poller back
 * ({@link LineBuffer.room}), so the agent's log, not our memory, keeps what the reader has not caught up with. Before
 * anyone iterates, nobody may ever read: the run must still complete when it is only awaited, so polling goes on and
 * the lines that do not fit are dropped (the first ones stay, in order, for an iterator that comes later). After the
 * reader stops early, every later line is dropped. Dropped lines are counted, never silently lost.
 */
import { withDeadline } from '../util/abort.js';
import type { LogLine } from './types.js';

/** The bounds of a {@link LineBuffer}. */
export interface LineBufferLimits {
  maxLines: number;
  maxBytes: number;
}

export const LINE_BUFFER_DEFAULTS: LineBufferLimits = { maxLines: 10_000, maxBytes: 1024 * 1024 };

/** Whether anyone takes lines: not yet, a reader is iterating, or the reader has stopped (or finished). */
type ReaderState = 'none' | 'reading' | 'gone';

export class LineBuffer {
  readonly #limits: LineBufferLimits;
  #lines: LogLine[] = [];
  /** Index of the next line to hand out; the array is compacted when the reader has taken half of it. */
  #head = 0;
  #bytes = 0;
  #reader: ReaderState = 'none';
  #ended = false;
  #dropped = 0;
  /** The iterator waiting for a line or the end. */
  #lineWaiter: (() => void) | undefined;
  /** The poller waiting for room. */
  #roomWaiter: (() => void) | undefined;

  constructor(limits: LineBufferLimits) {
    this.#limits = limits;
  }

  /** Lines held and not yet taken. */
  get size(): number {
    return this.#lines.length - this.#head;
  }

  /** Bytes of text held and not yet taken. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Lines received but not kept for the reader. */
  get dropped(): number {
    return this.#dropped;
  }

  get #full(): boolean {
    return this.size >= this.#limits.maxLines || this.#bytes >= this.#limits.maxBytes;
  }

  /**
   * Adds one status response's lines. With a reader they are kept whole, even past the bound (the poller waits for
   * room before asking for more); without one, only what fits is kept.
   */
  push(lines: readonly LogLine[]): void {
    if (lines.length === 0) return;
    if (this.#reader === 'gone') {
      this.#dropped += lines.length;
      return;
    }
    for (const line of lines) {
      if (this.#reader === 'none' && this.#full) {
        this.#dropped++;
        continue;
      }
      this.#lines.push(line);
      this.#bytes += Buffer.byteLength(line.text);
    }
    this.#wakeReader();
  }

  /** No more lines will come. */
  end(): void {
    this.#ended = true;
    this.#wakeReader();
    this.#wakeWriter();
  }

  /**
   * Resolves when the poller may ask the agent for more: at once unless a reader is iterating and the buffer is
   * full; then (after calling `onPause`) when the reader has taken enough, stops reading, or `signal` fires
   * (resolving false).
   */
  async room(signal: AbortSignal, onPause?: () => void): Promise<boolean> {
    if (this.#reader !== 'reading' || !this.#full) return !signal.aborted;
    onPause?.();
    return withDeadline<boolean>({ timeoutMs: undefined, expired: () => new Error('unreachable') }, signal, (settle) => {
      this.#roomWaiter = () => settle.resolve(true);
      return () => {
        this.#roomWaiter = undefined;
      };
    }).catch(() => false);
  }

  /** The lines, in order, as they come, until the end. Only one reader, once. */
  async *read(): AsyncGenerator<LogLine> {
    if (this.#reader !== 'none') throw new TypeError('A script run can be iterated only once');
    this.#reader = 'reading';
    try {
      for (;;) {
        const line = this.#take();
        if (line !== undefined) {
          yield line;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => (this.#lineWaiter = resolve));
      }
    } finally {
      // Finished, broken out of, or thrown into: nothing reads any more, so the poller must not wait for it.
      this.#reader = 'gone';
      this.#dropped += this.size;
      this.#lines = [];
      this.#head = 0;
      this.#bytes = 0;
      this.#wakeWriter();
    }
  }

  #take(): LogLine | undefined {
    if (this.#head >= this.#lines.length) return undefined;
    const line = this.#lines[this.#head++]!;
    this.#bytes -= Buffer.byteLength(line.text);
    if (this.#head === this.#lines.length) {
      this.#lines = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#lines.length) {
      this.#lines = this.#lines.slice(this.#head);
      this.#head = 0;
    }
    if (!this.#full) this.#wakeWriter();
    return line;
  }

  #wakeReader(): void {
    const waiting = this.#lineWaiter;
    this.#lineWaiter = undefined;
    waiting?.();
  }

  #wakeWriter(): void {
    this.#roomWaiter?.();
  }
}
