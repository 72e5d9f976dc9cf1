/**
 * `IFileTransferService` confined to one directory. A Tentacle writes wherever its account may; this agent runs in
 * a test process, so every path must resolve inside its file root (relative paths resolve against it, as a
 * Tentacle resolves them against its home). Bodies are streamed, never held in memory.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeUploadResult } from '../../contracts/index.js';
import { DataStream } from '../../protocol/data-stream.js';
import type { ServiceImplementation } from '../service-dispatch.js';
import { resolveConfined } from './confined-paths.js';

const WHAT = "the agent's file root";

function checkPathArgument(remotePath: unknown): string {
  if (typeof remotePath !== 'string') throw new TypeError(`The remote path must be a string, got ${remotePath === null ? 'null' : typeof remotePath}`);
  return remotePath;
}

export function createFileTransferService(fileRoot: string): ServiceImplementation {
  return {
    async UploadFile(remotePath: unknown, upload: unknown): Promise<unknown> {
      const path = await resolveConfined(fileRoot, checkPathArgument(remotePath), WHAT);
      if (!(upload instanceof DataStream)) throw new TypeError('The upload must be a DataStream');
      await mkdir(dirname(path), { recursive: true });
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
      await pipeline(upload.readable(), measure, createWriteStream(path));
      return encodeUploadResult({ FullPath: path, Hash: hash.digest('hex'), Length: length });
    },

    async DownloadFile(remotePath: unknown): Promise<DataStream | null> {
      const path = await resolveConfined(fileRoot, checkPathArgument(remotePath), WHAT);
      // A Tentacle answers null when File.Exists is false, which it also is for a directory.
      const found = await stat(path).catch(() => undefined);
      if (found === undefined || !found.isFile()) return null;
      return DataStream.fromFile(path);
    },
  };
}
