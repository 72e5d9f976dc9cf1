// Large, non-repeating payloads generated on the fly, so data-stream tests never hold them in memory.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

const BLOCK = randomBytes(1024 * 1024);

/** A readable of `length` bytes: a random block with each copy stamped with its index. */
export function payload(length: number, seed = 0): Readable {
  let offset = 0;
  let index = seed;
  return new Readable({
    read() {
      if (offset >= length) {
        this.push(null);
        return;
      }
      const size = Math.min(BLOCK.length, length - offset);
      const chunk = Buffer.from(BLOCK.subarray(0, size));
      if (size >= 8) chunk.writeBigUInt64LE(BigInt(index++), 0);
      offset += size;
      this.push(chunk);
    },
  });
}

export async function sha256(source: AsyncIterable<unknown>): Promise<{ hash: string; length: number }> {
  const h = createHash('sha256');
  let length = 0;
  for await (const chunk of source) {
    const b = chunk as Buffer;
    length += b.length;
    h.update(b);
  }
  return { hash: h.digest('hex'), length };
}
