// Property-based fuzzing of every parser that reads what a peer sends: control lines, compressed messages, BSON,
// data-stream framing, and the proxy handshakes. Arbitrary and mutated-valid input may only ever produce our own
// typed errors (HalibutError), must never hang, and must never yield more than the configured bounds.
// CI runs about 10^5 cases; `npm run fuzz` (FUZZ_SCALE=10) runs about 10^6.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { HalibutError } from '../lib/errors.js';
import { DataStream, HalibutClient, Guid, Int64 } from '../lib/index.js';
import { decodeBson, encodeBson } from '../lib/protocol/bson.js';
import { ByteReader } from '../lib/protocol/byte-reader.js';
import { readCompressedMessage } from '../lib/protocol/compressed-message.js';
import { readControlLine } from '../lib/protocol/control-lines.js';
import { IncomingStreams } from '../lib/protocol/data-stream-wire.js';
import { decodeMessage, encodeRequest, encodeResponse } from '../lib/protocol/message-codec.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';
import { createServer, type AddressInfo, type Socket } from 'node:net';

closeEverythingAfterwards();
const scale = Number(process.env['FUZZ_SCALE'] ?? '1');
const runs = (n: number): number => Math.max(1, Math.round(n * scale));
const deadline = { phase: 'read', timeoutMs: 2000 } as const;
const MAX = 64 * 1024;

/** Only our own typed errors are acceptable outcomes of bad input. */
function expectTyped(err: unknown): void {
  if (!(err instanceof HalibutError)) throw new Error(`untyped error escaped: ${String(err)}`, { cause: err });
}

/** Feeds chunks into a reader and ends the stream, as a peer that sends them and closes. */
function feed(chunks: Uint8Array[]): ByteReader {
  const stream = new PassThrough();
  const reader = new ByteReader(stream);
  for (const c of chunks) stream.write(Buffer.from(c));
  stream.end();
  return reader;
}

/** Splits bytes at the given cut points: the same bytes delivered in arbitrary pieces. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out.filter((c) => c.length > 0);
}

/** Applies byte flips, truncation and insertion to valid input. */
const mutated = (valid: Buffer) =>
  fc
    .record({
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      insert: fc.option(fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 8 })), { nil: undefined }),
    })
    .map(({ flips, cut, insert }) => {
      let b = Buffer.from(valid);
      for (const [at, x] of flips) if (b.length > 0) b[at % b.length] = (b[at % b.length] ?? 0) ^ x;
      if (insert !== undefined) {
        const at = insert[0] % (b.length + 1);
        b = Buffer.concat([b.subarray(0, at), insert[1], b.subarray(at)]);
      }
      if (cut !== undefined) b = b.subarray(0, cut % (b.length + 1));
      return b;
    });

const validRequest = encodeRequest({
  id: 'IEchoService::Echo[1] / x',
  activityId: Guid.random(),
  endpoint: { BaseUri: 'https://a:1/', RemoteThumbprint: 'AB' },
  service: 'IEchoService',
  method: 'Echo',
  params: ['text', 42, new Int64(2n ** 40n), [1, { nested: [true, null] }], new Date(0), DataStream.fromBuffer('abc')],
}).bson;
const validResponse = encodeResponse({ id: 'x', error: { message: 'boom', details: 'trace', HalibutErrorType: null }, result: null }).bson;

describe('fuzzing the parsers', () => {
  it('control lines: arbitrary bytes in arbitrary pieces', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 5 }), async (bytes, cuts) => {
        const reader = feed(split(bytes, cuts));
        try {
          const line = await readControlLine(reader, deadline, 200);
          if (line !== null) assert.ok(line.length <= 200 + 64 * 1024);
        } catch (err) {
          expectTyped(err);
        }
      }),
      { numRuns: runs(20_000) },
    );
  });

  it('compressed messages: arbitrary bytes and mutated valid messages', async () => {
    const valid = deflateRawSync(validRequest);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated(valid)), fc.array(fc.nat(), { maxLength: 4 }), async (bytes, cuts) => {
        const reader = feed(split(bytes, cuts));
        try {
          const bson = await readCompressedMessage(reader, { maxMessageBytes: MAX, read: deadline });
          if (bson !== null) {
            assert.ok(bson.length <= MAX, 'never more than the bound');
            decodeMessage(bson);
          }
        } catch (err) {
          expectTyped(err);
        }
      }),
      { numRuns: runs(30_000) },
    );
  });

  it('BSON: arbitrary and mutated documents', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated(validRequest), mutated(validResponse)), (bytes) => {
        try {
          const buf = Buffer.from(bytes);
          decodeMessage(buf);
          decodeBson(buf, { maxDepth: 8, numbers: 'preserve' });
        } catch (err) {
          expectTyped(err);
        }
      }),
      { numRuns: runs(30_000) },
    );
  });

  it('BSON: every encodable value round-trips', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((b) => b < -(2n ** 53n) || b > 2n ** 53n),
        fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d) || Object.is(d, -0)),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.string().filter((k) => !k.includes('\0') && k !== '__proto__' && !/^\d+$/.test(k)), tie('v'), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        assert.deepEqual(decodeBson(encodeBson({ v })), { v });
      }),
      { numRuns: runs(5_000) },
    );
  });

  it('data-stream framing: arbitrary bytes after a message that announces streams', async () => {
    const id = Guid.random();
    const frame = Buffer.alloc(24 + 5 + 8);
    id.writeTo(frame, 0);
    frame.writeBigInt64LE(5n, 16);
    frame.write('hello', 24);
    frame.writeBigInt64LE(5n, 29);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 80 }), mutated(frame)), fc.array(fc.nat(), { maxLength: 3 }), async (bytes, cuts) => {
        const incoming = new IncomingStreams(feed(split(bytes, cuts)), [{ id, length: 5 }], deadline);
        try {
          const body = await incoming.streams[0]!.toBuffer({ maxBytes: 5 });
          assert.equal(body.length, 5);
        } catch (err) {
          expectTyped(err);
        }
      }),
      { numRuns: runs(20_000) },
    );
  });

  it('proxy handshakes: whatever an HTTP or SOCKS5 proxy answers', async () => {
    // A real socket per case, so fewer cases: the parsers here are Node's HTTP parser and our SOCKS5 reader.
    const ids = await identities();
    let answer = Buffer.alloc(0);
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      s.once('data', () => s.end(answer));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as AddressInfo).port;
    const clients = ['http', 'socks5'].map((scheme) => new HalibutClient({ certificate: ids.client, proxy: `${scheme}://127.0.0.1:${port}`, retry: false, connectTimeoutMs: 2000, handshakeTimeoutMs: 2000 }));
    for (const c of clients) onCleanup(() => c.close());
    const httpish = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom('HTTP/1.1 200\r\n\r\n', 'HTTP/1.0 407 x\r\n\r\n', 'HTTP/1.1 999 ?\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', '\x05\x00', '\x05\x02\x01\x01', '\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x00\x50').map((s) => Buffer.from(s, 'latin1')),
    );
    await fc.assert(
      fc.asyncProperty(httpish, fc.nat(1), async (bytes, which) => {
        answer = Buffer.from(bytes);
        try {
          await clients[which]!.call({ url: 'https://127.0.0.1:9/', thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'M' });
          assert.fail('a fake proxy can never lead to a successful call');
        } catch (err) {
          expectTyped(err);
        }
      }),
      { numRuns: runs(300) },
    );
  });
});
