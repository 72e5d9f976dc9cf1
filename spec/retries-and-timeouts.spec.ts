// Retries happen only before the request began; every phase has its own deadline; aborts work in every phase.
// Faults come from a real TCP forwarder between client and agent.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  CallAbortedError,
  CertificateMismatchError,
  ConnectError,
  ConnectionClosedError,
  DataStream,
  HalibutClient,
  PhaseTimeoutError,
  TlsHandshakeError,
  type HalibutClientOptions,
} from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { Forwarder } from './support/forwarder.js';
import { identities } from './support/identities.js';
import { payload } from './support/payload.js';
import { freePort } from './support/ports.js';

closeEverythingAfterwards();
const ids = await identities();

function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, ...options });
  onCleanup(() => c.close());
  return c;
}


describe('retries', () => {
  it('makes exactly N attempts against a port that refuses, and says so', async () => {
    const port = await freePort();
    const c = client({ retry: { attempts: 3, delayMs: 5 } });
    const scheduled: number[] = [];
    c.on('retryScheduled', (e) => scheduled.push(e.attempt));
    await assert.rejects(c.call({ url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'M' }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.syscallCode, 'ECONNREFUSED');
      assert.equal(err.attempts, 3);
      assert.equal(err.connectionState, 'connecting');
      assert.match(err.message, /3 attempts/);
      return true;
    });
    assert.deepEqual(scheduled, [1, 2]);
  });

  it('opens exactly N connections to a peer that resets during the handshake', async () => {
    let accepted = 0;
    const server = createServer((socket) => {
      accepted++;
      socket.resetAndDestroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as AddressInfo).port;
    await assert.rejects(
      client({ retry: { attempts: 4, delayMs: 1 } }).call({ url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'M' }),
      // The reset can land before or after the kernel reports the connection as established.
      (err: unknown) => (err instanceof TlsHandshakeError || err instanceof ConnectError) && err.attempts === 4,
    );
    assert.equal(accepted, 4);
  });

  it('eventually succeeds when the agent comes up between attempts', async () => {
    const { agent, endpoint } = await startAgent({ services: { S: { Ping: () => 'pong' } } });
    const forwarder = await Forwarder.start(endpoint);
    forwarder.onData = (link) => {
      // The first two connections are cut as soon as the client speaks; the third goes through.
      if (forwarder.accepted <= 2) link.reset();
    };
    const c = client({ retry: { attempts: 5, delayMs: 1 } });
    assert.equal(await c.call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Ping' }), 'pong');
    assert.equal(forwarder.accepted, 3);
    assert.ok(agent.connectionCount <= 1);
  });

  it('never retries once the request began: the agent runs it once', async () => {
    let executions = 0;
    const link: { forwarder?: Forwarder } = {};
    const { endpoint } = await startAgent({
      services: {
        S: {
          Once: () => {
            executions++;
            link.forwarder?.killAll();
            return 'unreachable';
          },
        },
      },
    });
    const forwarder = await Forwarder.start(endpoint);
    link.forwarder = forwarder;
    await assert.rejects(
      client({ retry: { attempts: 5, delayMs: 1 } }).call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Once' }),
      (err: unknown) => err instanceof ConnectionClosedError && err.connectionState === 'unknown' && err.attempts === 1,
    );
    assert.equal(executions, 1);
    assert.equal(forwarder.accepted, 1);
  });

  it('never retries a pin mismatch', async () => {
    const { endpoint } = await startAgent();
    const forwarder = await Forwarder.start(endpoint);
    const wrongPin = { url: forwarder.endpointFor(endpoint).url, thumbprint: ids.stranger.thumbprint };
    await assert.rejects(
      client({ retry: { attempts: 5, delayMs: 1 } }).call(wrongPin, { service: 'S', method: 'M' }),
      (err: unknown) => err instanceof CertificateMismatchError && err.attempts === 1,
    );
    assert.equal(forwarder.accepted, 1);
  });

  it('respects the retry window', async () => {
    const port = await freePort();
    // The budget of 50 attempts 100 ms apart would take 5 s; the 150 ms window must end it after a few. The last
    // wait is cut to what is left of the window, so how many attempts fit depends on how long each one took: the
    // bounds say only that the window, not the attempt budget, stopped the retries.
    await assert.rejects(
      client({ retry: { attempts: 50, delayMs: 100, maxRetryTimeMs: 150 } }).call({ url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'M' }),
      (err: unknown) => err instanceof ConnectError && err.attempts !== undefined && err.attempts >= 2 && err.attempts <= 6,
    );
  });
});

describe('phase timeouts', () => {
  const services = {
    S: {
      Ping: () => 'pong',
      Never: () => new Promise(() => undefined),
      Download: () => DataStream.fromReadable(() => payload(64 * 1024 * 1024), 64 * 1024 * 1024),
      Upload: async (s: DataStream) => (await s.toBuffer({ maxBytes: 1 << 30 })).length,
    },
  };

  /** Asserts a phase timeout, then that a fresh call still works. */
  async function expectPhase(call: Promise<unknown>, phase: string, timeoutMs: number, next: () => Promise<unknown>): Promise<void> {
    await assert.rejects(call, (err: unknown) => {
      assert.ok(err instanceof PhaseTimeoutError, String(err));
      assert.equal(err.phase, phase);
      assert.equal(err.timeoutMs, timeoutMs);
      assert.match(err.message, new RegExp(`${timeoutMs} ms in phase '${phase}'`));
      return true;
    });
    assert.equal(await next(), 'pong');
  }

  it('handshake: a link that carries nothing', async () => {
    const { endpoint } = await startAgent({ services });
    const forwarder = await Forwarder.start(endpoint);
    forwarder.pauseNew = true;
    const c = client({ handshakeTimeoutMs: 150, retry: false });
    await expectPhase(c.call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Ping' }), 'handshake', 150, () =>
      c.call(endpoint, { service: 'S', method: 'Ping' }),
    );
  });

  it('heartbeat: a pooled connection whose link stalled is replaced without failing the call', async () => {
    const { endpoint } = await startAgent({ services });
    const forwarder = await Forwarder.start(endpoint);
    const c = client({ heartbeatTimeoutMs: 150 });
    const via = forwarder.endpointFor(endpoint);
    assert.equal(await c.call(via, { service: 'S', method: 'Ping' }), 'pong');
    forwarder.pauseAll();
    const closed: string[] = [];
    c.on('connectionClosed', (e) => closed.push(e.reason));
    assert.equal(await c.call(via, { service: 'S', method: 'Ping' }), 'pong');
    assert.deepEqual(closed, ['stale']);
    assert.equal(forwarder.accepted, 2);
  });

  it('response: a method that never returns', async () => {
    const { endpoint } = await startAgent({ services });
    const c = client({ responseTimeoutMs: 150 });
    await expectPhase(c.call(endpoint, { service: 'S', method: 'Never' }), 'response', 150, () => c.call(endpoint, { service: 'S', method: 'Ping' }));
  });

  it('read: a response data stream that stops arriving', async () => {
    const { endpoint } = await startAgent({ services });
    const forwarder = await Forwarder.start(endpoint);
    forwarder.onData = (link, direction) => {
      if (direction === 'down' && link.down > 1024 * 1024) link.pauseDown();
    };
    const c = client({ readTimeoutMs: 200 });
    const stream = (await c.call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Download' })) as DataStream;
    await expectPhase(stream.toBuffer({ maxBytes: 1 << 30 }), 'read', 200, () => c.call(endpoint, { service: 'S', method: 'Ping' }));
  });

  it('write: an upload the link stops taking', async () => {
    const { endpoint } = await startAgent({ services });
    const forwarder = await Forwarder.start(endpoint);
    forwarder.onData = (link, direction) => {
      if (direction === 'up' && link.up > 1024 * 1024) link.pauseUp();
    };
    const c = client({ readTimeoutMs: 200 });
    const size = 256 * 1024 * 1024;
    await expectPhase(
      c.call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Upload', params: [DataStream.fromReadable(() => payload(size), size)] }),
      'write',
      200,
      () => c.call(endpoint, { service: 'S', method: 'Ping' }),
    );
  });
});

describe('cancellation', () => {
  it('aborting while connecting leaves nothing behind', async () => {
    const { endpoint, agent } = await startAgent();
    const forwarder = await Forwarder.start(endpoint);
    forwarder.pauseNew = true;
    const c = client();
    const controller = new AbortController();
    const call = c.call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Ping' }, { signal: controller.signal });
    await eventually(() => assert.equal(forwarder.links.size, 1));
    controller.abort(new Error('user gave up'));
    await assert.rejects(call, (err: unknown) => err instanceof CallAbortedError && !err.requestMayHaveRun && err.connectionState === 'connecting');
    assert.deepEqual(c.stats(forwarder.endpointFor(endpoint)), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
    assert.equal(agent.connectionCount, 0);
  });

  it('aborting while waiting between retries stops the retries', async () => {
    const port = await freePort();
    const c = client({ retry: { attempts: 10, delayMs: 60_000 } });
    const controller = new AbortController();
    c.once('retryScheduled', () => controller.abort());
    await assert.rejects(
      c.call({ url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'M' }, { signal: controller.signal }),
      (err: unknown) => err instanceof CallAbortedError && err.attempts === 1,
    );
  });
});
