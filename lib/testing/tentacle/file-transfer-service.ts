/**
 * `IFileTransferService` as a Linux Tentacle implements it: relative paths resolve against the agent's home
 * (`$TentacleHome`), Windows separators become `/`, a missing file downloads as null, and an upload's hash and
 * length are of the bytes as they arrive. Bodies are streamed, never held in memory.
 *
 * One deliberate difference, for safety in a test process: by default every path must stay inside the home
 * (a Tentacle allows any absolute path); `allowPathsOutsideHome` lifts that.
 */
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeUploadResult } from '../../contracts/index.js';
import { DataStream } from '../../protocol/data-stream.js';
import type { ServiceImplementation } from '../service-dispatch.js';
import { createAnywhere, createConfined, linuxPath, openConfinedForReading } from './confined-paths.js';

const WHAT = "the agent's home";

function checkPathArgument(remotePath: unknown): string {
  if (typeof remotePath !== 'string') throw new TypeError(`The remote path must be a string, got ${remotePath === null ? 'null' : typeof remotePath}`);
  if (remotePath.length === 0) throw new Error('An empty path was given');
  return remotePath;
}

/** Where transfers happen and how far they may reach. */
export interface FileTransferOptions {
  /** The agent's home: relative paths resolve against it, and by default every path must stay inside it. */
  home: string;
  /** Allow any path, as a Tentacle does. */
  allowPathsOutsideHome: boolean;
}

async function openForReading(options: FileTransferOptions, given: string): Promise<FileHandle | undefined> {
  const path = linuxPath(given);
  if (!options.allowPathsOutsideHome) return openConfinedForReading(options.home, path, WHAT, given);
  const full = resolve(options.home, path);
  const found = await stat(full).catch(() => undefined);
  return found?.isFile() === true ? open(full, 'r') : undefined;
}

export function createFileTransferService(options: FileTransferOptions): ServiceImplementation {
  return {
    async UploadFile(remotePath: unknown, upload: unknown): Promise<unknown> {
      const given = checkPathArgument(remotePath);
      const path = linuxPath(given);
      const full = resolve(options.home, path);
      // A Tentacle answers a null stream with no hash and no length.
      if (upload === null) return encodeUploadResult({ FullPath: full, Hash: null, Length: 0 });
      if (!(upload instanceof DataStream)) throw new TypeError('The upload must be a DataStream');
      const file = options.allowPathsOutsideHome ? await createAnywhere(full) : await createConfined(options.home, path, WHAT, given);
      // The hash and length are of the bytes as they arrive, computed on the way to the disk.
      const hash = createHash('sha1');
      let length = 0;
      const measure = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          length += chunk.length;
          callback(null, chunk);
        },
      });
      await pipeline(upload.readable(), measure, file.createWriteStream());
      return encodeUploadResult({ FullPath: full, Hash: hash.digest('hex'), Length: length });
    },

    async DownloadFile(remotePath: unknown): Promise<DataStream | null> {
      // A Tentacle answers null when File.Exists is false, which it also is for a directory.
      const file = await openForReading(options, checkPathArgument(remotePath));
      if (file === undefined) return null;
      const { size } = await file.stat();
      return DataStream.fromReadable(() => file.createReadStream(size === 0 ? {} : { start: 0, end: size - 1 }), size);
    },
  };
}
