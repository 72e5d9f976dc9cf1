import { Readable } from 'node:stream';

const BLOCK = Buffer.alloc(64 * 1024, 0x5a);

/** `length` bytes of a repeated 64 KiB block, produced as they are read (never held in memory). */
export function blocks(length: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= length) return void this.push(null);
      const n = Math.min(BLOCK.length, length - sent);
      sent += n;
      this.push(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n));
    },
  });
}
