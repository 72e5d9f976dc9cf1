/**
 * Uploads and downloads through `IFileTransferService`, streamed in both directions with backpressure. The bytes
 * are hashed as they pass, so an upload is checked against the SHA-1 the agent reports and a download reports the
 * SHA-1 of what was received.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HalibutClient } from '../client/halibut-client.js';
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
    options.signal === undefined ? {} : { signal: options.signal },
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
  const result = await client.call(
    endpoint,
    { service: ServiceNames.FileTransferService, method: FileTransferMethods.DownloadFile, params: [remotePath] },
    options.signal === undefined ? {} : { signal: options.signal },
  );
  if (result === null) throw new RemoteFileNotFoundError(resolveEndpoint(endpoint).url, remotePath);
  if (!(result instanceof DataStream)) throw new ContractError('DataStream', 'result', 'must be a DataStream or null');
  const tap = new HashingTap(result.length, options.onProgress);
  const pipeOptions = options.signal === undefined ? {} : { signal: options.signal };
  if (typeof destination !== 'string') {
    await pipeline(result.readable(), tap, destination, pipeOptions);
    return { length: tap.bytes, sha1: tap.digest() };
  }
  // Written beside the destination and renamed at the end: a failed download never leaves a partial file under the
  // name the caller asked for.
  const partial = `${destination}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await pipeline(result.readable(), tap, createWriteStream(partial), pipeOptions);
    await rename(partial, destination);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  return { length: tap.bytes, sha1: tap.digest() };
}
