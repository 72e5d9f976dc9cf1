// The message reader against awkward delivery: byte by byte, with following bytes in the same chunk, with the last
// bits of the DEFLATE stream in a later chunk, and against corrupt, truncated and oversized input.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { constants, deflateRawSync } from 'node:zlib';
import { ByteReader } from '../lib/protocol/byte-reader.js';
import { decodeBson, encodeBson } from '../lib/protocol/bson.js';
import { readCompressedMessage } from '../lib/protocol/compressed-message.js';
import { ConnectionClosedError, MessageFormatError, MessageTooLargeError, PhaseTimeoutError } from '../lib/protocol/errors.js';
import { loadVectors, vectorSets } from './support/vectors.js';

const bson = encodeBson({ Message: { text: 'x'.repeat(100_000), n: 42, list: [1, 'two', null] } });
const compressed = deflateRawSync(bson);
const options = { maxMessageBytes: 1 << 20, read: { phase: 'read' as const, timeoutMs: 2000 } };

function feed(chunks: Buffer[], end = false): { reader: ByteReader; stream: PassThrough } {
  const stream = new PassThrough();
  const reader = new ByteReader(stream);
  for (const c of chunks) stream.write(c);
  if (end) stream.end();
  return { reader, stream };
}

async function rest(reader: ByteReader): Promise<string> {
  const r = await reader.read(1000, { phase: 'quiet', timeoutMs: 50 }).catch((e: unknown) => {
    if (e instanceof PhaseTimeoutError) return null;
    throw e;
  });
  return r === null ? '' : r.toString('latin1');
}

describe('reading a compressed message', () => {
  it('returns the document and keeps the bytes after it (one chunk)', async () => {
    const { reader } = feed([Buffer.concat([compressed, Buffer.from('\x5b\xad data-stream bytes', 'latin1')])]);
    const out = await readCompressedMessage(reader, options);
    assert.ok(out?.equals(bson));
    assert.equal(await rest(reader), '\x5b\xad data-stream bytes');
  });

  it('works when fed one byte at a time', async () => {
    const all = Buffer.concat([compressed, Buffer.from('NEXT\r\n')]);
    const { reader } = feed([...all].map((b) => Buffer.from([b])));
    const out = await readCompressedMessage(reader, options);
    assert.ok(out?.equals(bson));
    assert.equal(await rest(reader), 'NEXT\r\n');
  });

  it('does not wait for more input when the message ends exactly at a chunk boundary', async () => {
    const { reader } = feed([compressed]);
    const out = await readCompressedMessage(reader, { ...options, read: { phase: 'read', timeoutMs: 100 } });
    assert.ok(out?.equals(bson));
  });

  it('waits for the final block when it arrives in a later chunk', async () => {
    // A sync-flushed stream whose final (empty) block comes separately: the document is complete before the stream is.
    const body = deflateRawSync(bson, { finishFlush: constants.Z_SYNC_FLUSH });
    const { reader, stream } = feed([body]);
    const pending = readCompressedMessage(reader, options);
    setImmediate(() => stream.write(Buffer.from([0x03, 0x00, 0x41, 0x42])));
    const out = await pending;
    assert.ok(out?.equals(bson));
    assert.equal(await rest(reader), 'AB');
  });

  it('refuses a DEFLATE stream that goes on past the end of its document (each late check re-inflates)', async () => {
    const body = deflateRawSync(bson, { finishFlush: constants.Z_SYNC_FLUSH });
    const { reader, stream } = feed([body]);
    const pending = readCompressedMessage(reader, { ...options, read: { phase: 'read', timeoutMs: 10_000 } });
    // Empty non-final stored blocks: valid DEFLATE that produces nothing, sent one at a time, for ever.
    const timer = setInterval(() => stream.write(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])), 20);
    try {
      await assert.rejects(pending, (err: unknown) => err instanceof MessageFormatError && /past the end of its document/.test(err.message));
    } finally {
      clearInterval(timer);
    }
  });

  it('decodes every golden wire vector and leaves exactly the data-stream bytes', async () => {
    for (const set of vectorSets) {
      for (const v of loadVectors(set).filter((x) => x.deflateBytes !== undefined)) {
        const { reader } = feed([v.wire]);
        const out = await readCompressedMessage(reader, options);
        assert.equal(out?.toString('hex'), v.bsonHex, v.name);
        assert.equal(reader.bytesRead, v.deflateBytes, v.name);
      }
    }
  });

  it('fails at once when the stream ends, at a chunk boundary, before the document it declares is complete', async () => {
    const short = Buffer.from(bson);
    short.writeInt32LE(bson.length + 50, 0);
    const { reader } = feed([deflateRawSync(short)]);
    await assert.rejects(readCompressedMessage(reader, { ...options, read: { phase: 'read', timeoutMs: 60_000 } }), MessageFormatError);
  });

  it('resumes after the peer pauses mid-message (the end-of-stream check must not lose state)', async () => {
    const half = compressed.length >> 1;
    const { reader, stream } = feed([compressed.subarray(0, half)]);
    const pending = readCompressedMessage(reader, { ...options, read: { phase: 'read', timeoutMs: 60_000 } });
    // Sent only after the reader has checked whether the stream ended (it has not), and rebuilt its state.
    setTimeout(() => stream.write(Buffer.concat([compressed.subarray(half), Buffer.from('NEXT')])), 250);
    const out = await pending;
    assert.ok(out?.equals(bson));
    assert.equal(await rest(reader), 'NEXT');
  });

  it('returns null on a clean end before the first byte', async () => {
    const { reader } = feed([], true);
    assert.equal(await readCompressedMessage(reader, options), null);
  });

  it('fails on a truncated stream', async () => {
    const { reader } = feed([compressed.subarray(0, compressed.length - 5)], true);
    await assert.rejects(readCompressedMessage(reader, options), ConnectionClosedError);
  });

  it('fails on garbage', async () => {
    const { reader } = feed([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], true);
    await assert.rejects(readCompressedMessage(reader, options), MessageFormatError);
  });

  it('stops a deflate bomb at the bound', async () => {
    const huge = encodeBson({ Message: { z: Buffer.alloc(200 * 1024 * 1024) } });
    const bomb = deflateRawSync(huge, { level: 9 });
    assert.ok(bomb.length < 300 * 1024);
    const { reader } = feed([bomb]);
    await assert.rejects(readCompressedMessage(reader, { ...options, maxMessageBytes: 4 * 1024 * 1024 }), (err: unknown) => {
      assert.ok(err instanceof MessageTooLargeError);
      assert.equal(err.limit, 4 * 1024 * 1024);
      return true;
    });
  });

  it('rejects output longer than the document declares', async () => {
    const tampered = Buffer.concat([bson, Buffer.from('extra')]);
    const { reader } = feed([deflateRawSync(tampered)]);
    await assert.rejects(readCompressedMessage(reader, options), MessageFormatError);
  });

  it('times out when the peer stalls mid-message', async () => {
    const { reader } = feed([compressed.subarray(0, 100)]);
    await assert.rejects(
      readCompressedMessage(reader, { ...options, read: { phase: 'read', timeoutMs: 50 } }),
      (err: unknown) => err instanceof PhaseTimeoutError && err.phase === 'read',
    );
  });
});

describe('BSON bounds', () => {
  it('rejects nesting deeper than the limit', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const doc = encodeBson({ root: deep });
    assert.throws(() => decodeBson(doc, { maxDepth: 64 }), MessageTooLargeError);
    assert.doesNotThrow(() => decodeBson(doc, { maxDepth: 128 }));
  });

  it('rejects malformed documents with a typed error', () => {
    const doc = encodeBson({ a: 'text', b: [1, 2] });
    for (let cut = 1; cut < doc.length; cut++) {
      const broken = Buffer.from(doc.subarray(0, cut));
      if (broken.length >= 4) broken.writeInt32LE(broken.length, 0);
      assert.throws(() => decodeBson(broken), MessageFormatError, `cut at ${cut}`);
    }
  });

  it('never lets a key named __proto__ change an object prototype', () => {
    const doc = encodeBson(new Map<string, unknown>([['__proto__', { polluted: true }]]));
    const out = decodeBson(doc);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.equal('polluted' in {}, false);
  });
});
