/**
 * Data-stream framing after a message: for each stream, 16-byte id (.NET Guid order), int64 LE length, the body,
 * and the length again. No count, no terminator: both sides know the streams from the message itself.
 */
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { observingTransfers, publishStreamTransfer } from '../diagnostics/channels.js';
import type { ByteReader, ReadDeadline } from './byte-reader.js';
import { writeAll } from './control-lines.js';
import { DataStream, type IncomingStreamSource } from './data-stream.js';
import { Guid } from './dotnet-values.js';
import { withDeadline, type DeadlineOptions } from '../util/abort.js';
import { connectionFailed, ConnectionClosedError, DataStreamError, PhaseTimeoutError } from './errors.js';

const HEADER_BYTES = 24;

/** How far the reading of one incoming stream got. */
interface Remaining {
  /** Body bytes not read yet. */
  bytes: number;
  /** True once its header has been asked for. */
  started: boolean;
  /** `performance.now()` when reading began, while the transfer is observed and not yet reported. */
  since?: number | undefined;
}
const BODY_CHUNK = 64 * 1024;
/** The most handed to the socket at once when sending a data stream. */
const WRITE_PIECE = 64 * 1024;

function lengthBytes(length: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64LE(BigInt(length));
  return b;
}

/**
 * Resolves when the socket can take more; rejects if it closes first or the deadline passes. With a rate floor, the
 * wait is also cut off once the `pending` bytes written since the last drain have taken longer than the floor allows.
 */
function drained(socket: Socket, deadline: ReadDeadline | undefined, pending: number): Promise<undefined> {
  const inactivity: DeadlineOptions = {
    timeoutMs: deadline?.timeoutMs,
    expired: () => new PhaseTimeoutError(deadline?.phase ?? 'write', deadline?.timeoutMs ?? 0, 'the peer stopped reading a data stream'),
  };
  return withDeadline<undefined>(deadline?.rate?.bound(pending, inactivity) ?? inactivity, undefined, (settle) => {
    const onDrain = (): void => settle.resolve(undefined);
    const onClose = (): void => settle.reject(new ConnectionClosedError('The connection closed while a data stream was being sent'));
    const onError = (err: Error): void => settle.reject(connectionFailed(err, 'while a data stream was being sent'));
    socket.on('drain', onDrain);
    socket.on('close', onClose);
    socket.on('error', onError);
    return (failure) => {
      socket.off('drain', onDrain);
      socket.off('close', onClose);
      socket.off('error', onError);
      if (failure instanceof PhaseTimeoutError) socket.destroy(failure);
    };
  });
}

/**
 * Sends each stream's frame with backpressure. A source that yields more or fewer bytes than declared fails: the
 * receiver counts bytes, so the connection cannot be used afterwards either way. With `endpoint`, each transfer is
 * published on the diagnostics channel (the client's side names it; the agent's does not).
 */
export async function writeDataStreams(socket: Socket, streams: readonly DataStream[], deadline?: ReadDeadline, endpoint?: string): Promise<void> {
  for (const stream of streams) {
    const started = endpoint !== undefined && observingTransfers() ? performance.now() : undefined;
    const sent = { bytes: 0 };
    try {
      await writeDataStream(socket, stream, deadline, sent);
    } catch (err) {
      if (started !== undefined) publishStreamTransfer(endpoint!, stream, 'send', sent.bytes, started, err as Error);
      throw err;
    }
    if (started !== undefined) publishStreamTransfer(endpoint!, stream, 'send', sent.bytes, started);
  }
}

/** One stream's frame: header, body, trailer. `sent` counts the body bytes written so far. */
async function writeDataStream(socket: Socket, stream: DataStream, deadline: ReadDeadline | undefined, sent: { bytes: number }): Promise<void> {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  stream.id.writeTo(header, 0);
  header.writeBigInt64LE(BigInt(stream.length), 16);
  await writeAll(socket, header, deadline);
  const source = stream.readable();
  try {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      sent.bytes += buf.length;
      if (sent.bytes > stream.length) {
        throw new DataStreamError(`DataStream ${stream.id.toString()} produced more than its declared ${stream.length} bytes`);
      }
      if (socket.destroyed) throw new ConnectionClosedError('The connection closed while a data stream was being sent');
      // Written in pieces of at most WRITE_PIECE: a drain says only that everything queued has gone, so the less is
      // queued, the sooner a stalled peer shows (see drained() and the rate floor).
      for (let at = 0; at < buf.length; at += WRITE_PIECE) {
        const piece = buf.length <= WRITE_PIECE ? buf : buf.subarray(at, at + WRITE_PIECE);
        if (socket.write(piece)) {
          // Taken without waiting: it counts toward the rate floor's window at no cost in time.
          deadline?.rate?.count(piece.length, 0);
          continue;
        }
        const waitStarted = performance.now();
        await drained(socket, deadline, socket.writableLength);
        const tooSlow = deadline?.rate?.count(piece.length, performance.now() - waitStarted);
        if (tooSlow !== undefined) {
          socket.destroy(tooSlow);
          throw tooSlow;
        }
      }
    }
  } finally {
    if (!source.destroyed) source.destroy();
  }
  if (sent.bytes !== stream.length) {
    throw new DataStreamError(`DataStream ${stream.id.toString()} produced ${sent.bytes} bytes but declared ${stream.length}`);
  }
  await writeAll(socket, lengthBytes(stream.length), deadline);
}

/**
 * The streams announced by one received message, read from the connection in order as the receiver consumes them.
 * `settled` resolves once every stream has been read (the connection is then free) and rejects if reading one failed.
 */
export class IncomingStreams implements IncomingStreamSource {
  readonly streams: readonly DataStream[];
  readonly settled: Promise<void>;
  readonly #reader: ByteReader;
  readonly #deadline: ReadDeadline | undefined;
  /** Names the endpoint on the diagnostics channel; the agent's side leaves it out and publishes nothing. */
  readonly #endpoint: string | undefined;
  #next = 0;
  #busy = false;
  #failure: Error | undefined;
  #resolve!: () => void;
  #reject!: (err: Error) => void;

  constructor(reader: ByteReader, announced: ReadonlyArray<{ id: Guid; length: number }>, deadline?: ReadDeadline, endpoint?: string) {
    this.#reader = reader;
    this.#deadline = deadline;
    this.#endpoint = endpoint;
    this.streams = announced.map((s) => DataStream.incoming(s.id, s.length, this));
    this.settled = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Callers observe failures through the readable they consume; avoid an unhandled rejection if nobody awaits this.
    this.settled.catch(() => undefined);
    if (this.streams.length === 0) this.#resolve();
  }

  /** True once the receiver has started reading (or discarding) the first stream. */
  get started(): boolean {
    return this.#busy || this.#next > 0;
  }

  /** True once every stream has been consumed or discarded. */
  get done(): boolean {
    return this.#next === this.streams.length && !this.#busy;
  }

  /** Stops everything: later reads fail with `error` (used when the call is aborted or the connection dies). */
  abort(error: Error): void {
    if (this.#failure !== undefined || this.done) return;
    this.#failure = error;
    this.#reject(error);
  }

  open(stream: DataStream): Readable {
    const remaining: Remaining = { bytes: stream.length, started: false };
    const readable: Readable = new Readable({
      highWaterMark: BODY_CHUNK,
      read: () => {
        this.#pump(stream, remaining).then(
          (chunk) => readable.push(chunk),
          (err: unknown) => readable.destroy(err instanceof Error ? err : new Error(String(err))),
        );
      },
      destroy: (err, cb) => {
        if (remaining.bytes > 0 || !remaining.started) {
          const error = err ?? new DataStreamError(`DataStream ${stream.id.toString()} was closed before it was read to the end`);
          this.#report(stream, remaining, error);
          this.#fail(error);
        }
        cb(err);
      },
    });
    return readable;
  }

  async discard(stream: DataStream): Promise<void> {
    const remaining: Remaining = { bytes: stream.length, started: false };
    for (;;) {
      const chunk = await this.#pump(stream, remaining);
      if (chunk === null) return;
    }
  }

  /** Reads and throws away every stream not consumed yet, in order. */
  async drainAll(): Promise<void> {
    for (const stream of this.streams) await stream.discard();
    await this.settled;
  }

  /** Returns the next piece of `stream`'s body, or null after its trailer has been checked. */
  async #pump(stream: DataStream, remaining: Remaining): Promise<Buffer | null> {
    if (this.#failure !== undefined) throw this.#failure;
    try {
      if (!remaining.started) {
        const expected = this.streams[this.#next];
        if (expected !== stream) {
          throw new DataStreamError(
            `DataStream ${stream.id.toString()} must be read after the streams before it in the message (streams are read in order)`,
          );
        }
        if (this.#busy) throw new DataStreamError('Another DataStream of this message is still being read');
        this.#busy = true;
        remaining.started = true;
        if (this.#endpoint !== undefined && observingTransfers()) remaining.since = performance.now();
        const header = await this.#reader.readExact(HEADER_BYTES, 'a data stream header', this.#deadline);
        const id = Guid.fromDotnetBytes(header.subarray(0, 16));
        const length = header.readBigInt64LE(16);
        if (!id.equals(stream.id)) {
          throw new DataStreamError(`Expected data stream ${stream.id.toString()} but the peer sent ${id.toString()}`);
        }
        if (length !== BigInt(stream.length)) {
          throw new DataStreamError(`Data stream ${id.toString()} was announced with ${stream.length} bytes but its header says ${length}`);
        }
      }
      if (remaining.bytes > 0) {
        const chunk = await this.#reader.read(Math.min(remaining.bytes, BODY_CHUNK), this.#deadline);
        if (chunk === null) {
          throw new DataStreamError(
            `The connection ended after ${stream.length - remaining.bytes} of ${stream.length} bytes of data stream ${stream.id.toString()}`,
          );
        }
        remaining.bytes -= chunk.length;
        return chunk;
      }
      const trailer = await this.#reader.readExact(8, 'a data stream trailer', this.#deadline);
      const again = trailer.readBigInt64LE(0);
      if (again !== BigInt(stream.length)) {
        throw new DataStreamError(`Data stream ${stream.id.toString()} size mismatch: declared ${stream.length} bytes, trailer says ${again}`);
      }
      this.#report(stream, remaining);
      this.#busy = false;
      this.#next++;
      if (this.#next === this.streams.length) this.#resolve();
      return null;
    } catch (err) {
      const error = err instanceof ConnectionClosedError ? new DataStreamError(`Data stream ${stream.id.toString()} failed: ${err.message}`, { cause: err }) : (err as Error);
      this.#report(stream, remaining, error);
      this.#fail(error);
      throw error;
    }
  }

  /** Publishes the stream's transfer once, if it was being observed when its reading began. */
  #report(stream: DataStream, remaining: Remaining, error?: Error): void {
    if (remaining.since === undefined) return;
    publishStreamTransfer(this.#endpoint!, stream, 'receive', stream.length - remaining.bytes, remaining.since, error);
    remaining.since = undefined;
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined || this.done) return;
    this.#failure = error;
    this.#reject(error);
  }
}
