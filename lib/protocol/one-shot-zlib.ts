/**
 * Whole-buffer raw DEFLATE and INFLATE for small messages, with the zlib streams kept from one message to the next.
 *
 * `deflateRawSync` creates a zlib stream per call: about 256 KiB of state allocated and cleared, which for a message of
 * a few hundred bytes costs several times the compression itself (more when that memory has left the cache). Here one
 * deflater per compression level, and one inflater, are reset and reused, and the output is byte for byte what the
 * one-shot functions give:
 *
 * - An inflater after a reset is in its initial state (no window, nothing buffered).
 * - A deflater after a reset still holds the previous input in its window, and the match search reads up to 258 bytes
 *   past the end of the input, where a fresh stream has zeros. So before an input shorter than what the window has
 *   held, that part of the window is overwritten with zeros (by compressing zeros), and the search sees what it sees
 *   in a fresh stream. Inputs are kept below the window size, so nothing is ever slid within the window.
 *
 * The streams are driven synchronously through their handle, exactly as Node's `*Sync` functions do it (Z_FINISH, the
 * same 16 KiB output steps, the same output bound). That interface is not public: it is checked before use and against
 * the one-shot functions on a sample, and if anything differs every call goes to the one-shot functions (Node's public
 * API). {@link zlibPath} says which path is taken on the running Node.
 */
import { constants, createDeflateRaw, createInflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';

/** What Node's zlib streams carry for their synchronous path. */
export interface SyncStream {
  _handle?: { writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void } | null;
  _writeState?: Uint32Array;
  readonly destroyed: boolean;
  reset(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** zlib's default chunk size: output comes out in the same steps as from the one-shot functions. */
const CHUNK = 16 * 1024;
/** Largest input compressed with a kept deflater: well inside its 32 KiB window. */
const KEPT_DEFLATE_MAX = 16 * 1024;
const scratch = Buffer.allocUnsafe(CHUNK);

/**
 * Applied to every zlib stream made here before its internals are checked. The identity in use; tests substitute a
 * stream whose internals differ (as a future Node's might) to prove the check falls back to the public API.
 */
let adapt: (stream: SyncStream) => SyncStream = (stream) => stream;
const zeros = Buffer.alloc(KEPT_DEFLATE_MAX);
/**
 * More than deflate can make of {@link KEPT_DEFLATE_MAX} bytes. Every run has a finite bound, so internals that never
 * report the end of the output (a state that stays zero) end in a refusal, never in an endless loop.
 */
const DEFLATE_OUTPUT_MAX = 2 * KEPT_DEFLATE_MAX;

function usable(stream: SyncStream): boolean {
  return typeof stream._handle?.writeSync === 'function' && stream._writeState instanceof Uint32Array && stream._writeState.length >= 2;
}

class KeptStream {
  readonly #create: () => SyncStream;
  #stream: SyncStream | undefined;
  /** How far into the window earlier inputs reach (deflate); zeros or never-read memory lie beyond. */
  #dirty = 0;

  constructor(create: () => SyncStream) {
    this.#create = create;
  }

  /** Deflates `input` (at most {@link KEPT_DEFLATE_MAX} bytes) as a fresh stream would. */
  deflate(input: Buffer): Buffer | undefined {
    if (this.#dirty > input.length && this.#run(zeros, this.#dirty, DEFLATE_OUTPUT_MAX) === undefined) return undefined;
    const out = this.#run(input, input.length, DEFLATE_OUTPUT_MAX);
    if (out !== undefined) this.#dirty = input.length;
    return out?.output;
  }

  /** Inflates `input` as a fresh stream would. */
  inflate(input: Buffer, maxOutput: number): { output: Buffer; consumed: number } | undefined {
    return this.#run(input, input.length, maxOutput);
  }

  /**
   * Runs `length` bytes of `input` through with Z_FINISH. Undefined when zlib fails (the stream is then gone and the
   * next call makes a new one) or the output passes `maxOutput`.
   */
  #run(input: Buffer, length: number, maxOutput: number): { output: Buffer; consumed: number } | undefined {
    let stream = this.#stream;
    if (stream === undefined || stream.destroyed) {
      stream = adapt(this.#create());
      // A zlib error destroys the stream and is then emitted; it is seen here through `destroyed`.
      stream.on('error', () => undefined);
      if (!usable(stream)) return undefined;
      this.#stream = stream;
      this.#dirty = 0;
    } else {
      stream.reset();
    }
    const handle = stream._handle!;
    const state = stream._writeState!;
    const pieces: Buffer[] = [];
    let total = 0;
    let inOff = 0;
    let availIn = length;
    for (;;) {
      handle.writeSync(constants.Z_FINISH, input, inOff, availIn, scratch, 0, CHUNK);
      if (stream.destroyed) return undefined;
      const availOut = state[0]!;
      const inLeft = state[1]!;
      inOff += availIn - inLeft;
      availIn = inLeft;
      const have = CHUNK - availOut;
      if (have > 0) {
        total += have;
        if (total > maxOutput) return undefined;
        pieces.push(Buffer.from(scratch.subarray(0, have)));
      }
      if (availOut !== 0) break;
    }
    return { output: pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total), consumed: inOff };
  }
}

const SAMPLE = Buffer.from(`${'Halibut '.repeat(40)}a sample that compresses, checked once against the one-shot output`, 'latin1');

const deflaters = new Map<number, KeptStream | null>();
let inflater: KeptStream | null | undefined;

function deflaterFor(level: number): KeptStream | null {
  let kept = deflaters.get(level);
  if (kept === undefined) {
    kept = new KeptStream(() => createDeflateRaw({ level }));
    // A fresh stream, a reset one, and a shorter input after a longer one (the window cleared).
    const k = kept;
    const same = (input: Buffer): boolean => k.deflate(input)?.equals(deflateRawSync(input, { level })) === true;
    if (!(same(SAMPLE) && same(SAMPLE) && same(SAMPLE.subarray(0, 100)))) kept = null;
    deflaters.set(level, kept);
  }
  return kept;
}

function keptInflater(): KeptStream | null {
  if (inflater === undefined) {
    const kept = new KeptStream(() => createInflateRaw());
    const wire = Buffer.concat([deflateRawSync(SAMPLE), Buffer.from('tail')]);
    const ok = (): boolean => {
      const out = kept.inflate(wire, 2 * SAMPLE.length);
      return out !== undefined && out.output.equals(SAMPLE) && out.consumed === wire.length - 4;
    };
    inflater = ok() && ok() ? kept : null;
  }
  return inflater;
}

/** Which path compresses and inflates small messages on this Node: its kept zlib streams, or the public one-shot API. */
export type ZlibPath = 'kept-streams' | 'public-api';

/** The path taken for small messages at the default level and for inflating (it is checked on first use and kept). */
export function zlibPath(): ZlibPath {
  return deflaterFor(constants.Z_DEFAULT_COMPRESSION) !== null && keptInflater() !== null ? 'kept-streams' : 'public-api';
}

/**
 * For tests only: forgets which path was chosen, and has every zlib stream made from now on pass through `change`
 * (a stream whose internals differ from the ones this module drives). Without an argument, streams are used as made.
 */
export function resetZlibPathForTests(change?: (stream: SyncStream) => SyncStream): void {
  adapt = change ?? ((stream) => stream);
  deflaters.clear();
  inflater = undefined;
}

/** Same result as `deflateRawSync(input, { level })`. */
export function deflateRawWhole(input: Buffer, level: number): Buffer {
  const kept = input.length <= KEPT_DEFLATE_MAX ? deflaterFor(level) : null;
  return kept?.deflate(input) ?? deflateRawSync(input, { level });
}

/**
 * What `inflateRawSync(input, { info: true, maxOutputLength })` gives: the output and how many input bytes the DEFLATE
 * stream took. Undefined where that throws: the input is not one complete DEFLATE stream, or inflates past the bound.
 */
export function inflateRawWhole(input: Buffer, maxOutputLength: number): { output: Buffer; consumed: number } | undefined {
  const kept = keptInflater();
  if (kept !== null) return kept.inflate(input, maxOutputLength);
  try {
    const { buffer, engine } = inflateRawSync(input, { info: true, maxOutputLength }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    return { output: buffer, consumed: engine.bytesWritten };
  } catch {
    return undefined;
  }
}
