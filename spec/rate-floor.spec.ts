// The minimum transfer rate under bodies too large for a total deadline: the rest of a response message and each data
// stream, down and up. A dripping or stalling agent (written here, over real TLS) ends at the floor's window, not at
// the much longer inactivity limit; a caller that consumes a download slowly is not the agent's fault.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { DataStream, HalibutClient, HalibutError, PhaseTimeoutError, type HalibutClientOptions } from '../lib/index.js';
import { resolveOptions } from '../lib/client/options.js';
import { encodeResponse } from '../lib/protocol/message-codec.js';
import { RateFloor } from '../lib/protocol/rate-floor.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { startFakeAgent, type FakePeer } from './support/fake-agent.js';
import { identities } from './support/identities.js';
import { payload } from './support/payload.js';

closeEverythingAfterwards();
const ids = await identities();

// Far longer than any test may take: if one of these ended a call, the floor did not.
const INACTIVITY_MS = Number(process.env.INACTIVITY_MS ?? 120_000);

function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, retry: false, readTimeoutMs: INACTIVITY_MS, ...options });
  onCleanup(() => c.close());
  return c;
}

/** Writes `bytes` one at a time, one every `everyMs`, until the connection goes. */
function drip(peer: FakePeer, bytes: Buffer, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (at >= bytes.length || peer.socket.destroyed) return clearInterval(timer);
    peer.socket.write(bytes.subarray(at, ++at));
  }, everyMs);
  onCleanup(() => clearInterval(timer));
}

function assertFloor(err: unknown, phase: 'read' | 'write', windowMs: number): true {
  assert.ok(err instanceof PhaseTimeoutError, String(err));
  assert.equal(err.code, 'ERR_TIMEOUT');
  assert.equal(err.phase, phase);
  assert.equal(err.timeoutMs, windowMs, err.message);
  assert.match(err.message, /below the floor of \d+ bytes\/s \(minTransferRate\)/);
  return true;
}

describe('the rate floor as a rule', () => {
  it('passes a window that moved enough, fails one that did not, and starts again after each window', () => {
    const floor = new RateFloor({ bytesPerSecond: 1000, windowMs: 1000 }, 'read');
    assert.equal(floor.count(600, 500), undefined, 'half a window: not judged yet');
    assert.equal(floor.count(400, 500), undefined, '1000 bytes in 1 s: at the floor');
    assert.equal(floor.count(10, 900), undefined, 'a new window');
    const err = floor.count(10, 200);
    assert.ok(err instanceof PhaseTimeoutError);
    assert.match(err.message, /moved 20 bytes in 1\.1 s of waiting, below the floor of 1000 bytes\/s/);
    assert.equal(floor.count(2000, 1000), undefined, 'the failed window is not carried over');
  });

  it('gives a stalled wait what its bytes take at the floor, never less than a window, unless its own limit is shorter', () => {
    const floor = new RateFloor({ bytesPerSecond: 1000, windowMs: 1000 }, 'write');
    assert.equal(floor.maxWaitMs(0), 1000);
    assert.equal(floor.maxWaitMs(500), 1000);
    assert.equal(floor.maxWaitMs(5000), 5000);
    const inactivity = { timeoutMs: 60_000, expired: () => new Error('inactivity') };
    const bounded = floor.bound(5000, inactivity);
    assert.equal(bounded.timeoutMs, 5000);
    assert.match(bounded.expired().message, /phase 'write'.*moved none of 5000 bytes in 5\.0 s/);
    const shorter = { timeoutMs: 100, expired: () => new Error('inactivity') };
    assert.equal(floor.bound(5000, shorter), shorter, 'a shorter limit stands');
  });

  it('is off at 0, and the options say so', () => {
    assert.equal(RateFloor.of({ bytesPerSecond: 0, windowMs: 1000 }, 'read'), undefined);
    assert.equal(resolveOptions({ certificate: ids.client, minTransferRate: 0 }).minTransferRate, 0);
    assert.deepEqual(
      [resolveOptions({ certificate: ids.client }).minTransferRate, resolveOptions({ certificate: ids.client }).transferRateWindowMs],
      [1024, 30_000],
    );
    assert.throws(() => resolveOptions({ certificate: ids.client, minTransferRate: -1 }), /minTransferRate must be an integer ≥ 0/);
    assert.throws(() => resolveOptions({ certificate: ids.client, transferRateWindowMs: 0 }), /transferRateWindowMs must be an integer ≥ 1/);
  });
});

describe('a dripping or stalling agent ends at the floor', () => {
  const WINDOW_MS = 400;
  const floor = { minTransferRate: 1024 * 1024, transferRateWindowMs: WINDOW_MS };

  it('a response message dripped a byte every 20 ms after its first bytes: ERR_TIMEOUT in phase read', async () => {
    const agent = await startFakeAgent(async (peer) => {
      await peer.identify();
      await peer.readRequest();
      // Incompressible, so that the message is long on the wire too.
      const { bson } = encodeResponse({ id: peer.requestId, error: null, result: randomBytes(16 * 1024).toString('base64') });
      const wire = deflateRawSync(bson);
      await peer.write(wire.subarray(0, 100));
      drip(peer, wire.subarray(100), 20);
      await peer.ignore();
    });
    const c = client(floor);
    await assert.rejects(c.call(agent.endpoint, { service: 'S', method: 'Big' }), (err) => assertFloor(err, 'read', WINDOW_MS));
    assert.equal(c.stats(agent.endpoint).idle, 0, 'the connection is not pooled');
  });

  it('a download whose body drips after its first 64 KiB: the stream fails in phase read', async () => {
    const length = 1024 * 1024;
    const agent = await startFakeAgent(async (peer) => {
      await peer.identify();
      await peer.readRequest();
      const { bson, streams } = encodeResponse({ id: peer.requestId, error: null, result: DataStream.fromBuffer(Buffer.alloc(length)) });
      await peer.write(deflateRawSync(bson));
      const header = Buffer.alloc(24);
      streams[0]!.id.writeTo(header, 0);
      header.writeBigInt64LE(BigInt(length), 16);
      await peer.write(Buffer.concat([header, Buffer.alloc(64 * 1024, 7)]));
      drip(peer, Buffer.alloc(length - 64 * 1024, 7), 20);
      await peer.ignore();
    });
    const c = client(floor);
    const stream = (await c.call(agent.endpoint, { service: 'S', method: 'Download' })) as DataStream;
    await assert.rejects(stream.toBuffer({ maxBytes: length }), (err) => assertFloor(err, 'read', WINDOW_MS));
  });

  it('an upload the agent stops taking: ERR_TIMEOUT in phase write, at the floor and not at the inactivity limit', async () => {
    const agent = await startFakeAgent(async (peer) => {
      await peer.identify();
      await peer.readRequest();
      // Then takes a few bytes now and then: far too few to keep the upload going.
      const timer = setInterval(() => void peer.reader.read(16).catch(() => clearInterval(timer)), 20);
      onCleanup(() => clearInterval(timer));
    });
    const c = client(floor);
    const size = 256 * 1024 * 1024;
    await assert.rejects(
      c.call(agent.endpoint, { service: 'S', method: 'Upload', params: [DataStream.fromReadable(() => payload(size), size)] }),
      (err) => assertFloor(err, 'write', WINDOW_MS),
    );
  });
});

describe('what the floor leaves alone', () => {
  it('a caller that consumes a download more slowly than the floor: only time spent waiting for the agent counts', async () => {
    const length = 4 * 1024 * 1024;
    const { endpoint } = await startAgent({ services: { S: { Download: () => DataStream.fromReadable(() => payload(length), length) } } });
    // The consumer below takes 64 KiB per 100 ms at most (640 KiB/s), under this floor of 1 MiB/s; the agent on
    // loopback is far above it.
    const c = client({ minTransferRate: 1024 * 1024, transferRateWindowMs: 200 });
    const stream = (await c.call(endpoint, { service: 'S', method: 'Download' })) as DataStream;
    let received = 0;
    let pauses = 0;
    for await (const chunk of stream.readable()) {
      received += (chunk as Buffer).length;
      if (pauses < 10) {
        pauses++;
        await new Promise<void>((resolve) => setTimeout(resolve, 100).unref());
      }
    }
    assert.equal(received, length);
    assert.equal(pauses, 10);
  });

  it('a response whose first byte takes longer than the window: that wait is the method running, not a transfer', async () => {
    let release: () => void = () => undefined;
    const ran = new Promise<void>((resolve) => (release = resolve));
    const { endpoint } = await startAgent({
      services: {
        S: {
          Slow: async () => {
            await ran;
            return 'done';
          },
        },
      },
    });
    const c = client({ minTransferRate: 1024 * 1024, transferRateWindowMs: 50 });
    const call = c.call(endpoint, { service: 'S', method: 'Slow' });
    // Several windows pass while the method runs.
    setTimeout(release, 300).unref();
    assert.equal(await call, 'done');
  });

  it('a floor error is a HalibutError with the stable code ERR_TIMEOUT', () => {
    const err = new RateFloor({ bytesPerSecond: 10, windowMs: 100 }, 'read').count(0, 100);
    assert.ok(err instanceof HalibutError);
    assert.equal(err.code, 'ERR_TIMEOUT');
  });
});
