import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Guid } from './dotnet-values.js';
import { DataStreamError } from './errors.js';

/** Receives the body of an incoming stream from the connection; implemented by the wire layer. */
export interface IncomingStreamSource {
  open(stream: DataStream): Readable;
  discard(stream: DataStream): Promise<void>;
}

type Origin =
  | { kind: 'buffer'; buffer: Uint8Array }
  | { kind: 'file'; path: string }
  | { kind: 'readable'; open: () => Readable; used: boolean }
  | { kind: 'incoming'; source: IncomingStreamSource; used: boolean };

/**
 * A large payload that travels after a message, raw and uncompressed, instead of inside it (a Halibut `DataStream`).
 *
 * The same class serves both directions. An outgoing stream wraps a source (a buffer, a file, a readable of known
 * length) and is read once when the message is sent. An incoming stream is a view of bytes still on the connection:
 * it is read from the socket with backpressure when the receiver consumes it, never buffered whole.
 */
export class DataStream {
  /** Identifies the stream on the wire; a new random Guid for streams created here. */
  readonly id: Guid;
  /** Exact number of bytes in the body. */
  readonly length: number;
  readonly #origin: Origin;

  private constructor(id: Guid, length: number, origin: Origin) {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`A DataStream length must be a non-negative safe integer, got ${length}`);
    this.id = id;
    this.length = length;
    this.#origin = origin;
  }

  /** A stream whose body is the given bytes. */
  static fromBuffer(buffer: Uint8Array | string): DataStream {
    const bytes = typeof buffer === 'string' ? Buffer.from(buffer, 'utf8') : buffer;
    return new DataStream(Guid.random(), bytes.length, { kind: 'buffer', buffer: bytes });
  }

  /** A stream whose body is a file, read from disk when the message is sent. Its length is taken now. */
  static fromFile(path: string): DataStream {
    const stat = statSync(path);
    if (!stat.isFile()) throw new TypeError(`Not a regular file: ${path}`);
    return new DataStream(Guid.random(), stat.size, { kind: 'file', path });
  }

  /**
   * A stream whose body comes from a readable (or a function that opens one). The length must be known in advance
   * because it is sent before the body; a source that produces a different number of bytes fails the call.
   */
  static fromReadable(readable: Readable | (() => Readable), length: number): DataStream {
    const open = typeof readable === 'function' ? readable : () => readable;
    return new DataStream(Guid.random(), length, { kind: 'readable', open, used: false });
  }

  /** @internal A stream announced by a received message, whose body is still on the connection. */
  static incoming(id: Guid, length: number, source: IncomingStreamSource): DataStream {
    return new DataStream(id, length, { kind: 'incoming', source, used: false });
  }

  /** True for a stream that arrived in a message (its body is read from the connection). */
  get isIncoming(): boolean {
    return this.#origin.kind === 'incoming';
  }

  /**
   * The body as a Node readable. An incoming stream, or one made from a readable, can be read only once; incoming
   * streams of one message must be read in the order they appear in it.
   */
  readable(): Readable {
    const o = this.#origin;
    switch (o.kind) {
      case 'buffer':
        return Readable.from([Buffer.from(o.buffer.buffer, o.buffer.byteOffset, o.buffer.byteLength)], { objectMode: false });
      case 'file':
        return createReadStream(o.path, { highWaterMark: 64 * 1024 });
      case 'readable':
      case 'incoming':
        if (o.used) throw new DataStreamError(`DataStream ${this.id.toString()} has already been read; it can be read only once`);
        o.used = true;
        return o.kind === 'readable' ? o.open() : o.source.open(this);
    }
  }

  /** Collects the body into memory. `maxBytes` (default 64 MiB) guards against streams larger than expected. */
  async toBuffer(options: { maxBytes?: number } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? 64 * 1024 * 1024;
    if (this.length > max) {
      if (this.isIncoming) await this.discard();
      throw new DataStreamError(`DataStream of ${this.length} bytes exceeds toBuffer's limit of ${max} bytes; stream it instead`);
    }
    const parts: Buffer[] = [];
    for await (const chunk of this.readable()) parts.push(chunk as Buffer);
    return Buffer.concat(parts, this.length);
  }

  /** Writes the body to a file (created or truncated). */
  async writeTo(path: string): Promise<void> {
    await pipeline(this.readable(), createWriteStream(path));
  }

  /** Reads and throws away the body of an incoming stream (so the connection can be reused). No-op otherwise. */
  async discard(): Promise<void> {
    const o = this.#origin;
    if (o.kind !== 'incoming' || o.used) return;
    o.used = true;
    await o.source.discard(this);
  }

  /** The stream's id and length, for logs and `JSON.stringify` (never the body). */
  toJSON(): {
    /** The Guid's text. */
    id: string;
    /** The body's length in bytes. */
    length: number;
  } {
    return { id: this.id.toString(), length: this.length };
  }
}
