/**
 * Uploads and downloads through `IFileTransferService`, streamed in both directions with backpressure. The bytes
 * are hashed as they pass, so an upload is checked against the SHA-1 the agent reports and a download reports the
 * SHA-1 of what was received.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CallOptions, HalibutClient } from '../client/halibut-client.js';
import { callStopped } from '../client/errors.js';
import type { Endpoint } from '../client/endpoint.js';
import { resolveEndpoint } from '../client/endpoint.js';
import { decodeUploadResult } from '../contracts/decode.js';
import { ContractError } from '../contracts/errors.js';
import { FileTransferMethods, ServiceNames } from '../contracts/services.js';
import { DataStream } from '../protocol/data-stream.js';
import { RemoteFileNotFoundError, UploadVerificationError } from './errors.js';
import type { DownloadDestination, DownloadedFile, DownloadOptions, TransferProgress, UploadedFile, UploadOptions, UploadSource } from './types.js';

const PROGRESS_STEP = 64 * 1024;

/** Passes bytes through unchanged, hashing and counting them, and reporting progress every 64 KiB and at the end. */
class HashingTap extends Transform {
  readonly #hash = createHash('sha1');
  bytes = 0;
  #reported = 0;

  constructor(
    private readonly total: number | undefined,
    private readonly onProgress: ((p: TransferProgress) => void) | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    if (this.bytes - this.#reported >= PROGRESS_STEP) this.#report();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.#reported || this.bytes === 0) this.#report();
    callback();
  }

  #report(): void {
    this.#reported = this.bytes;
    this.onProgress?.({ bytes: this.bytes, total: this.total });
  }

  digest(): string {
    return this.#hash.digest('hex');
  }
}

/** The source's bytes and length, opened lazily (once the connection is ready to carry them). */
function openSource(source: UploadSource, length: number | undefined): { open: () => Readable; length: number } {
  if (typeof source === 'string') {
    const stat = statSync(source);
    if (!stat.isFile()) throw new TypeError(`Not a regular file: ${source}`);
    return { open: () => createReadStream(source, { highWaterMark: 256 * 1024 }), length: stat.size };
  }
  if (source instanceof DataStream) return { open: () => source.readable(), length: source.length };
  if (source instanceof Uint8Array) return { open: () => Readable.from([Buffer.from(source.buffer, source.byteOffset, source.byteLength)]), length: source.length };
  if (source instanceof Readable) {
    if (length === undefined) throw new TypeError('Uploading from a Readable needs { length }: the exact number of bytes it will produce');
    return { open: () => source, length };
  }
  throw new TypeError('An upload source is a file path, a Buffer or Uint8Array, a Readable with { length }, or a DataStream');
}

export async function uploadFile(client: HalibutClient, endpoint: Endpoint, remotePath: string, source: UploadSource, options: UploadOptions = {}): Promise<UploadedFile> {
  if (typeof remotePath !== 'string' || remotePath.length === 0) throw new TypeError('uploadFile needs the path to write on the agent');
  const { open, length } = openSource(source, options.length);
  let tap: HashingTap | undefined;
  const body = DataStream.fromReadable(() => {
    // A fresh tap per read: the hash must describe exactly the bytes that went out on this attempt.
    const current = new HashingTap(length, options.onProgress);
    tap = current;
    const input = open();
    pipeline(input, current).catch((err: unknown) => current.destroy(err instanceof Error ? err : new Error(String(err))));
    return current;
  }, length);
  const result = await client.call(
    endpoint,
    { service: ServiceNames.FileTransferService, method: FileTransferMethods.UploadFile, params: [remotePath, body] },
    callOptions(options),
  );
  const reported = decodeUploadResult(result, 'result');
  const sent = { sha1: tap?.digest() ?? createHash('sha1').digest('hex'), length: tap?.bytes ?? 0 };
  if (reported.Hash?.toLowerCase() !== sent.sha1 || reported.Length !== sent.length) {
    throw new UploadVerificationError(resolveEndpoint(endpoint).url, remotePath, sent, { sha1: reported.Hash, length: reported.Length });
  }
  return { fullPath: reported.FullPath, sha1: sent.sha1, length: sent.length };
}

export async function downloadFile(
  client: HalibutClient,
  endpoint: Endpoint,
  remotePath: string,
  destination: DownloadDestination,
  options: DownloadOptions = {},
): Promise<DownloadedFile> {
  if (typeof remotePath !== 'string' || remotePath.length === 0) throw new TypeError('downloadFile needs the path to read on the agent');
  const started = performance.now();
  const result = await client.call(
    endpoint,
    { service: ServiceNames.FileTransferService, method: FileTransferMethods.DownloadFile, params: [remotePath] },
    callOptions(options),
  );
  const url = resolveEndpoint(endpoint).url;
  if (result === null) throw new RemoteFileNotFoundError(url, remotePath);
  if (!(result instanceof DataStream)) throw new ContractError('DataStream', 'result', 'must be a DataStream or null');
  const tap = new HashingTap(result.length, options.onProgress);
  // The body comes after the call's answer: the time limit and the signal go on governing it.
  const { timeoutMs } = options;
  const expiry = timeoutMs === undefined ? undefined : new AbortController();
  const timer = expiry === undefined ? undefined : setTimeout(() => expiry.abort(), Math.max(0, (timeoutMs ?? 0) - (performance.now() - started)));
  const signal = expiry === undefined ? options.signal : options.signal === undefined ? expiry.signal : AbortSignal.any([options.signal, expiry.signal]);
  const pipeOptions = signal === undefined ? {} : { signal };
  // Written beside the destination and renamed at the end: a failed download never leaves a partial file under the
  // name the caller asked for.
  const file = typeof destination === 'string' ? { final: destination, partial: `${destination}.partial-${randomBytes(4).toString('hex')}` } : undefined;
  try {
    await pipeline(result.readable(), tap, file === undefined ? (destination as Writable) : createWriteStream(file.partial), pipeOptions);
    if (file !== undefined) await rename(file.partial, file.final);
  } catch (err) {
    if (file !== undefined) await rm(file.partial, { force: true });
    // Stopped mid-stream: the same errors as a call stopped while it waits for its answer (not Node's AbortError).
    if (signal?.aborted !== true) throw err;
    throw callStopped(url, options.signal?.reason, {
      requestStarted: true,
      elapsedMs: performance.now() - started,
      ownTimeoutMs: expiry?.signal.aborted === true ? timeoutMs : undefined,
    });
  } finally {
    clearTimeout(timer);
  }
  return { length: tap.bytes, sha1: tap.digest() };
}

/** The call options of a transfer. */
function callOptions(options: UploadOptions | DownloadOptions): CallOptions {
  const out: CallOptions = {};
  if (options.signal !== undefined) out.signal = options.signal;
  if (options.timeoutMs !== undefined) out.timeoutMs = options.timeoutMs;
  return out;
}
