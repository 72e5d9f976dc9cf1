/**
 * Reading and writing one message: a raw DEFLATE stream around a BSON document, with no length prefix.
 *
 * The reader must stop exactly where the DEFLATE stream ends, because data-stream bytes or the next control line
 * follow with no separator. Node's inflater reports how many compressed bytes it consumed (`bytesWritten`), and
 * stops consuming at the final block, so whatever it did not consume is handed back to the socket reader.
 */
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { constants, createInflateRaw, deflateRaw, type InflateRaw } from 'node:zlib';
import { readDeadline, type ByteReader, type ReadDeadline } from './byte-reader.js';
import { writeAll } from './control-lines.js';
import { ConnectionClosedError, MessageFormatError, MessageTooLargeError, PhaseTimeoutError } from './errors.js';
import { deflateRawWhole, inflateRawWhole } from './one-shot-zlib.js';

const deflateRawAsync = promisify(deflateRaw);

/** Default bound on a decompressed message: 64 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface ReadMessageOptions {
  /** Upper bound on the decompressed (BSON) size. */
  maxMessageBytes: number;
  /** Deadline for the first byte of the message. */
  firstByte?: ReadDeadline;
  /** Deadline for each later read. */
  read?: ReadDeadline;
}

const READ_CHUNK = 64 * 1024;
/** Messages below this size are compressed on the main thread: the thread-pool hop costs more than the work. */
const SYNC_DEFLATE_LIMIT = 64 * 1024;

/**
 * Compresses a BSON document and writes it in its own write. The caller writes data streams only after this
 * resolves, so the message ends a TLS record: Halibut before 2022 over-read the record and lost what followed.
 */
export async function writeCompressedMessage(
  socket: Socket,
  bson: Buffer,
  level: number = constants.Z_DEFAULT_COMPRESSION,
  deadline?: ReadDeadline,
): Promise<void> {
  const compressed = bson.length < SYNC_DEFLATE_LIMIT ? deflateRawWhole(bson, level) : await deflateRawAsync(bson, { level });
  await writeAll(socket, compressed, deadline);
}

/**
 * Reads one compressed message and returns its BSON bytes. Returns `null` when the stream ends cleanly before the
 * first byte (the peer closed between messages).
 */
export async function readCompressedMessage(reader: ByteReader, options: ReadMessageOptions): Promise<Buffer | null> {
  const first = await reader.read(READ_CHUNK, options.firstByte ?? options.read);
  if (first === null) return null;
  const whole = inflateWholeChunk(first, options.maxMessageBytes);
  if (whole !== undefined) {
    reader.unshift(first.subarray(whole.consumed));
    return whole.bson;
  }
  const inflate = new MessageInflater(options.maxMessageBytes);
  try {
    let chunk: Buffer | null = first;
    for (;;) {
      const leftover = await inflate.push(chunk);
      if (leftover !== undefined) {
        reader.unshift(leftover);
        return inflate.result();
      }
      chunk = await nextChunk(reader, inflate, options.read);
      if (chunk === null) {
        throw new ConnectionClosedError(`The connection ended in the middle of a message (${inflate.compressedBytes} compressed bytes received)`);
      }
    }
  } finally {
    inflate.dispose();
  }
}

/** How long the peer may pause mid-message before we check whether the DEFLATE stream has in fact ended. */
const QUIET_CHECK_MS = 100;

/**
 * The next chunk of a message. A DEFLATE stream that ends exactly at a chunk boundary with its document still
 * incomplete looks, to zlib, like one that needs more input. If the peer then goes quiet, a finishing flush tells
 * the two apart, so a truncated message fails at once instead of waiting out the read timeout. The check costs a
 * re-inflation when the stream goes on, so it is made again only once the message has doubled (see
 * {@link MessageInflater.mayCheckEnd}).
 */
async function nextChunk(reader: ByteReader, inflate: MessageInflater, deadline: ReadDeadline | undefined): Promise<Buffer | null> {
  const limit = deadline?.timeoutMs ?? Infinity;
  if (limit <= QUIET_CHECK_MS || !inflate.mayCheckEnd) return reader.read(READ_CHUNK, deadline);
  try {
    // The rate floor goes along: a peer that drips just often enough to beat the quiet check is still held to it.
    return await reader.read(READ_CHUNK, readDeadline('quiet', QUIET_CHECK_MS, undefined, deadline?.rate));
  } catch (err) {
    if (!(err instanceof PhaseTimeoutError) || err.phase !== 'quiet') throw err;
  }
  if (inflate.allConsumed && (await inflate.finishes())) {
    throw new MessageFormatError('The message ended before the document it declares was complete');
  }
  return reader.read(READ_CHUNK, deadline === undefined ? undefined : { ...deadline, timeoutMs: limit - QUIET_CHECK_MS });
}

/** Output bound for the one-shot attempt: it runs on the event loop, so it must stay short. */
const ONE_SHOT_MAX_OUTPUT = 1024 * 1024;

/** @internal Compressed bytes run through zlib by message readers, re-inflations included: reading must stay linear. */
export const inflateWork = { compressedBytes: 0 };

/**
 * The common case: a small message that arrived whole in one chunk. One synchronous inflate avoids the thread-pool
 * round trips of the streaming path. Anything else (incomplete, large, corrupt) returns undefined and is left to the
 * streaming path, which reports it precisely.
 */
function inflateWholeChunk(chunk: Buffer, max: number): { bson: Buffer; consumed: number } | undefined {
  inflateWork.compressedBytes += chunk.length;
  const whole = inflateRawWhole(chunk, Math.min(max, ONE_SHOT_MAX_OUTPUT));
  if (whole === undefined) return undefined;
  const buffer = whole.output;
  if (buffer.length < 5 || buffer.readInt32LE(0) !== buffer.length) return undefined;
  return { bson: buffer, consumed: whole.consumed };
}

/**
 * Compressed bytes a finished document may be followed by before its DEFLATE stream ends. A compressor ends the
 * stream right after the data: an end-of-block code, perhaps an empty stored block from a flush and an empty final
 * block, a dozen bytes at most.
 */
const MAX_TRAILING_DEFLATE = 64;
/** End checks that may find the stream still going after the document is complete (each one re-inflates). */
const MAX_LATE_END_CHECKS = 2;

/**
 * Incremental inflation with an exact end and a bound on output. The inflater's state is kept from chunk to chunk;
 * only an end check that finds the stream still going (a finishing flush leaves zlib's stream unusable) costs a
 * re-inflation of what has arrived, and those are rationed so that the total stays linear in the message.
 */
class MessageInflater {
  readonly #max: number;
  #inflater: InflateRaw;
  #compressed: Buffer[] = [];
  #fed = 0;
  /** The first output bytes, until the document's declared length is known. */
  #head: Buffer[] = [];
  /** The document, allocated at its declared length. */
  #out: Buffer | undefined;
  #outLength = 0;
  #error: Error | undefined;
  /** Compressed bytes fed when an end check last found the stream still going. */
  #checkedAt = 0;
  /** Compressed bytes fed when the document was first seen complete. */
  #completeAt: number | undefined;
  #lateChecks = 0;

  constructor(max: number) {
    this.#max = max;
    this.#inflater = this.#createInflater();
  }

  get compressedBytes(): number {
    return this.#fed;
  }

  /** True when zlib has taken every byte fed so far. */
  get allConsumed(): boolean {
    return this.#inflater.bytesWritten === this.#fed;
  }

  /** Whether an end check is worth its cost: never made yet, or the message has doubled since the last one. */
  get mayCheckEnd(): boolean {
    return this.#fed >= 2 * this.#checkedAt;
  }

  #createInflater(): InflateRaw {
    const inflater = createInflateRaw({ chunkSize: READ_CHUNK });
    inflater.on('data', (out: Buffer) => this.#onOutput(out));
    inflater.on('error', (err: Error) => {
      this.#error ??= new MessageFormatError(`The message is not valid DEFLATE data: ${err.message}`, { cause: err });
    });
    return inflater;
  }

  #fail(error: Error): void {
    this.#error ??= error;
    this.#inflater.destroy();
  }

  #onOutput(chunk: Buffer): void {
    if (this.#error !== undefined) return;
    let out = this.#out;
    if (out === undefined) {
      this.#head.push(chunk);
      this.#outLength += chunk.length;
      if (this.#outLength < 4) return;
      const head = Buffer.concat(this.#head, this.#outLength);
      this.#head = [];
      // The document declares its length: refuse an oversized one before inflating any further (a deflate bomb).
      const declared = head.readInt32LE(0);
      if (declared > this.#max) {
        this.#fail(new MessageTooLargeError(`The message declares ${declared} bytes, above the limit of ${this.#max} (maxMessageBytes)`, this.#max, 'maxMessageBytes'));
        return;
      }
      if (declared < 5) {
        this.#fail(new MessageFormatError(`The message's BSON document declares ${declared} bytes`));
        return;
      }
      // One buffer of the declared size, filled as output arrives: no copy of the whole at the end.
      out = this.#out = Buffer.allocUnsafe(declared);
      this.#outLength = 0;
      chunk = head;
    }
    if (this.#outLength + chunk.length > out.length) {
      this.#fail(new MessageFormatError(`The message decompressed past the ${out.length} bytes its BSON document declares`));
      return;
    }
    chunk.copy(out, this.#outLength);
    this.#outLength += chunk.length;
  }

  get #complete(): boolean {
    return this.#out !== undefined && this.#outLength === this.#out.length;
  }

  /** Feeds a chunk; returns the unconsumed tail once the DEFLATE stream has ended, or undefined to ask for more. */
  async push(chunk: Buffer): Promise<Buffer | undefined> {
    this.#compressed.push(chunk);
    this.#fed += chunk.length;
    await this.#write(chunk);
    this.#throwIfFailed();
    const consumed = this.#inflater.bytesWritten;
    if (consumed < this.#fed) {
      // zlib stopped taking input: the final block ended inside this chunk.
      return chunk.subarray(chunk.length - (this.#fed - consumed));
    }
    if (!this.#complete) return undefined;
    // Every byte was consumed and the document is complete. Either the stream ended exactly at the chunk boundary
    // (the usual case: the sender wrote the message in one write) or its last bits are still to come. A finishing
    // flush tells the two apart: zlib reports a clean end only if the final block was seen.
    this.#completeAt ??= this.#fed;
    if (this.#fed - this.#completeAt > MAX_TRAILING_DEFLATE || this.#lateChecks >= MAX_LATE_END_CHECKS) {
      throw new MessageFormatError('The DEFLATE stream of the message goes on past the end of its document');
    }
    if (await this.finishes()) return Buffer.alloc(0);
    this.#lateChecks++;
    return undefined;
  }

  result(): Buffer {
    const out = this.#out;
    if (out === undefined) throw new MessageFormatError(`The message decompressed to only ${this.#outLength} bytes`);
    if (this.#outLength < out.length) {
      throw new MessageFormatError(`The message ended after ${this.#outLength} of the ${out.length} bytes its BSON document declares`);
    }
    return out;
  }

  dispose(): void {
    this.#inflater.destroy();
    this.#compressed = [];
  }

  /**
   * Whether the stream has ended, by a finishing flush. If it has not, the inflater is rebuilt from the bytes kept
   * so far (the flush leaves it unusable), which costs one more inflation of the message so far.
   */
  async finishes(): Promise<boolean> {
    const probe = this.#inflater;
    const clean = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.flush(constants.Z_FINISH, () => resolve(this.#error === undefined && !probe.destroyed));
    });
    if (clean) return true;
    // The flush failed because the stream had not ended; that inflater is now unusable. Rebuild the state from the
    // compressed bytes kept so far.
    this.#checkedAt = this.#fed;
    this.#error = undefined;
    this.#inflater.destroy();
    const all = Buffer.concat(this.#compressed);
    this.#compressed = [all];
    // The document buffer, if already allocated, is kept: the same bytes are written into it again.
    this.#head = [];
    this.#outLength = 0;
    this.#inflater = this.#createInflater();
    await this.#write(all);
    this.#throwIfFailed();
    return false;
  }

  #write(chunk: Buffer): Promise<void> {
    inflateWork.compressedBytes += chunk.length;
    return new Promise<void>((resolve) => {
      if (this.#inflater.destroyed) return resolve();
      const onError = (): void => resolve();
      this.#inflater.once('error', onError);
      this.#inflater.write(chunk, () => {
        this.#inflater.off('error', onError);
        resolve();
      });
    });
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error;
  }
}
