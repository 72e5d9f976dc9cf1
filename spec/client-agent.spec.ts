// End to end: the client against the embeddable agent over real mutual TLS on loopback.
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import {
  AmbiguousMethodMatchError,
  DataStream,
  Double,
  Guid,
  Int32,
  Int64,
  MethodNotFoundError,
  RemoteError,
  ServiceInvocationError,
  ServiceNotFoundError,
  dotnetObject,
} from '../lib/index.js';
import { RemoteFailure } from '../lib/testing/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { payload, sha256 } from './support/payload.js';

interface IEchoService {
  SayHello(name: string): string;
  Echo(value: unknown): unknown;
  Add(a: number, b: number): number;
  Nothing(): null;
}

const received: unknown[][] = [];

const echoService = {
  SayHello: (name: string) => `Hello, ${name}!`,
  Echo: (value: unknown) => value,
  Add: (a: number, b: number) => new Int64(BigInt(a) + BigInt(b)),
  Big: () => new Int64(2n ** 60n),
  Typed: (...args: unknown[]) => {
    received.push(args.slice(0, -1));
    return args[0];
  },
  Nothing: () => undefined,
  Throw: () => {
    throw new TypeError('boom from the service');
  },
  Fail: (message: string, details: string | null, type: string | null) => {
    throw new RemoteFailure({ message, details, HalibutErrorType: type });
  },
  async UploadMany(a: DataStream, nested: { inner: DataStream; label: string }, c: DataStream) {
    const out = [];
    for (const s of [a, nested.inner, c]) out.push(await sha256(s.readable()));
    return { label: nested.label, results: out };
  },
  async Hash(stream: DataStream) {
    return sha256(stream.readable());
  },
  Download: (length: number, seed: number) => DataStream.fromReadable(() => payload(length, seed), length),
  DownloadMany: () => ({ first: DataStream.fromBuffer('first'), second: DataStream.fromBuffer('second!') }),
};


closeEverythingAfterwards();

describe('client ↔ agent', async () => {
  const { client, endpoint, connections } = await startAgent({ services: { IEchoService: echoService } });
  const call = (method: string, ...params: unknown[]) => client.call(endpoint, { service: 'IEchoService', method, params });

  it('calls a method through a typed proxy', async () => {
    const echo = client.service<IEchoService>(endpoint, 'IEchoService');
    assert.equal(await echo.SayHello('Halibut'), 'Hello, Halibut!');
  });

  it('round-trips primitives', async () => {
    for (const value of ['text', '', 'ünïcødé ✓', true, false, null, 0, -1, 2147483647, 1.5, -0.25]) {
      assert.deepEqual(await call('Echo', value), value);
    }
  });

  it('keeps int32, int64 and double apart on the wire', async () => {
    assert.equal(await call('Add', 2, 40), 42);
    assert.equal(await call('Add', new Int64(2), new Int64(40)), 42);
    assert.equal(await call('Big'), 2n ** 60n, 'int64 beyond 2^53 comes back as a bigint');
    received.length = 0;
    await call('Typed', new Int32(7), new Int64(7), new Double(7), 2n ** 62n);
    assert.deepEqual(received[0], [7, 7, 7, 2n ** 62n]);
  });

  it('round-trips Guids and DateTimes', async () => {
    const guid = Guid.parse('0f8fad5b-d9cb-469f-a165-70867728950e');
    const back = await call('Echo', guid);
    assert.ok(back instanceof Guid && back.equals(guid));
    assert.equal(String(back), '0f8fad5b-d9cb-469f-a165-70867728950e');
    const when = new Date('2024-05-01T12:00:00.123Z');
    assert.deepEqual(await call('Echo', when), when);
  });

  it('round-trips $type objects, nested arrays and dictionaries', async () => {
    const payloadObject = dotnetObject('HalibutPeer.Payload, HalibutPeer', {
      Text: 't',
      Number: new Int64(41),
      Tags: ['a', 'b', ['nested', [1, 2]]],
      Map: { k: 'v', deeper: { x: [{ y: null }] } },
    });
    const back = (await call('Echo', payloadObject)) as Record<string, unknown>;
    assert.equal(Object.keys(back)[0], '$type');
    assert.deepEqual(back, { ...payloadObject, Number: 41 });
  });

  it('returns null for a void method', async () => {
    const echo = client.service<IEchoService>(endpoint, 'IEchoService');
    assert.equal(await echo.Nothing(), null);
  });

  it('maps each kind of remote error to its class', async () => {
    await assert.rejects(client.call(endpoint, { service: 'INoSuchService', method: 'X' }), ServiceNotFoundError);
    await assert.rejects(call('NoSuchMethod'), MethodNotFoundError);
    await assert.rejects(call('Throw'), (err: unknown) => {
      assert.ok(err instanceof ServiceInvocationError);
      assert.equal(err.serverMessage, 'boom from the service');
      assert.equal(err.code, 'ERR_SERVICE_INVOCATION');
      assert.match(err.message, /IEchoService\.Throw/);
      return true;
    });
    await assert.rejects(
      call('Fail', 'Could not decide which candidate to call out of the following methods', null, null),
      AmbiguousMethodMatchError,
    );
    await assert.rejects(call('Fail', 'anything else', 'Some.Exception: anything else', null), (err: unknown) => {
      assert.ok(err instanceof RemoteError);
      assert.equal(err.constructor, RemoteError);
      return true;
    });
    // Halibut 4.4.8 and Tentacle texts, without HalibutErrorType.
    await assert.rejects(call('Fail', 'Service Octopus.Tentacle.X::StartScript not found', null, null), MethodNotFoundError);
    await assert.rejects(
      call('Fail', 'Error: IScriptServiceV3 has not been registered through an IAutofacServiceSource', 'x', null),
      ServiceNotFoundError,
    );
    // After all those errors the connection is still good.
    assert.equal(await call('SayHello', 'again'), 'Hello, again!');
  });

  it('uploads and downloads 100 MiB DataStreams, content checked by hash', async () => {
    const size = 100 * 1024 * 1024;
    const expected = await sha256(payload(size, 7));
    const up = (await call('Hash', DataStream.fromReadable(() => payload(size, 7), size))) as { hash: string; length: number };
    assert.deepEqual(up, expected);
    const down = (await call('Download', size, 7)) as DataStream;
    assert.ok(down instanceof DataStream);
    assert.equal(down.length, size);
    assert.deepEqual(await sha256(down.readable()), expected);
  });

  it('sends a DataStream from a file and writes a received one to a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'halibut-spec-'));
    try {
      const source = join(dir, 'source.bin');
      await pipeline(payload(3 * 1024 * 1024 + 17, 3), createWriteStream(source));
      const expected = await sha256(createReadStream(source));
      assert.deepEqual(await call('Hash', DataStream.fromFile(source)), expected);
      const target = join(dir, 'target.bin');
      await ((await call('Download', expected.length, 3)) as DataStream).writeTo(target);
      assert.deepEqual(await sha256(createReadStream(target)), expected);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('carries several DataStreams in one message, in both directions', async () => {
    const result = (await call(
      'UploadMany',
      DataStream.fromBuffer('alpha'),
      { inner: DataStream.fromBuffer(Buffer.alloc(70_000, 1)), label: 'mid' },
      DataStream.fromBuffer(''),
    )) as { label: string; results: Array<{ length: number }> };
    assert.equal(result.label, 'mid');
    assert.deepEqual(result.results.map((r) => r.length), [5, 70_000, 0]);
    const many = (await call('DownloadMany')) as { first: DataStream; second: DataStream };
    assert.equal((await many.first.toBuffer()).toString(), 'first');
    assert.equal((await many.second.toBuffer()).toString(), 'second!');
  });

  it('reuses one connection for sequential calls (NEXT/PROCEED)', async () => {
    const before = connections();
    for (let i = 0; i < 20; i++) assert.equal(await call('SayHello', String(i)), `Hello, ${i}!`);
    assert.equal(connections(), before, 'no new connection was opened');
    assert.deepEqual(client.stats(endpoint), { open: 1, idle: 1, inUse: 0, connecting: 0, waiting: 0 });
  });
});
