// The fault matrix: each network or peer fault, injected for real, must end in its exact typed error (or in a
// transparent recovery), within a bounded time; afterwards the same client must serve a new call, the pool must
// hold no broken connection, and (checked at the end of the file) no socket or timer may be left behind.
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import {
  AgentRejectedClientError,
  CertificateMismatchError,
  ClientClosedError,
  ConnectError,
  ConnectionClosedError,
  DataStream,
  DataStreamError,
  Guid,
  HalibutClient,
  HostNotFoundError,
  Int64,
  MessageFormatError,
  NotTlsError,
  PhaseTimeoutError,
  ProtocolError,
  TlsHandshakeError,
  type Endpoint,
  type HalibutClientOptions,
} from '../lib/index.js';
import { encodeBson } from '../lib/protocol/bson.js';
import { RESPONSE_TYPE, decodeMessage } from '../lib/protocol/message-codec.js';
import { ListeningAgent } from '../lib/testing/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { startFakeAgent, type FakePeer } from './support/fake-agent.js';
import { Forwarder } from './support/forwarder.js';
import { identities } from './support/identities.js';
import { payload } from './support/payload.js';
import { startScriptedProxy } from './support/proxies.js';
import { freePort } from './support/ports.js';

closeEverythingAfterwards();
const ids = await identities();
const BOUND_MS = 10_000;

const services = {
  S: {
    Ping: () => 'pong',
    Never: () => new Promise(() => undefined),
    Upload: async (s: DataStream) => (await s.toBuffer({ maxBytes: 1 << 30 })).length,
    Download: (n: number) => DataStream.fromReadable(() => payload(n), n),
  },
};

/** A healthy agent every case's client must still be able to call afterwards. */
const healthy = await startAgent({ services });

function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, retry: false, ...options });
  onCleanup(() => c.close());
  return c;
}

const call = (c: HalibutClient, endpoint: Endpoint, method = 'Ping', params: unknown[] = []) => c.call(endpoint, { service: 'S', method, params });

/** What must hold after any fault: nothing stuck in use, and the same client still works. */
async function afterwards(c: HalibutClient, endpoint: Endpoint): Promise<void> {
  await eventually(() => assert.equal(c.stats(endpoint).inUse, 0));
  assert.equal(await call(c, healthy.endpoint), 'pong');
}

/** Runs the faulty operation and checks its error and how long it took. */
async function fails(operation: () => Promise<unknown>, check: (err: unknown) => boolean): Promise<void> {
  const started = Date.now();
  await assert.rejects(async () => {
    const result = await operation();
    if (result instanceof DataStream) await result.toBuffer({ maxBytes: 1 << 30 });
  }, check);
  assert.ok(Date.now() - started < BOUND_MS, `failed within ${BOUND_MS} ms`);
}

function response(result: unknown, id = ''): Buffer {
  return deflateRawSync(encodeBson({ Message: { $type: RESPONSE_TYPE, id, error: null, result } }));
}

/** A fake agent that answers each request with `reply(peer, requestBson)`. */
async function fake(reply: (peer: FakePeer, request: Buffer) => Promise<void>) {
  return startFakeAgent(async (peer) => {
    await peer.identify();
    const request = await peer.readRequest();
    if (request !== null) await reply(peer, request);
  });
}

function streamFrame(length: number, bodyLength: number, trailer: number): { result: unknown; bytes: Buffer } {
  const id = Guid.random();
  const bytes = Buffer.alloc(24 + bodyLength + 8, 7);
  id.writeTo(bytes, 0);
  bytes.writeBigInt64LE(BigInt(length), 16);
  bytes.writeBigInt64LE(BigInt(trailer), 24 + bodyLength);
  return { result: { $type: 'Halibut.DataStream, Halibut', id, length: new Int64(length) }, bytes };
}


describe('fault matrix', () => {
  it('01 connection refused → ConnectError, nothing reached the agent', async () => {
    const c = client();
    const endpoint = { url: `https://127.0.0.1:${await freePort()}/`, thumbprint: ids.agent.thumbprint };
    await fails(() => call(c, endpoint), (e) => e instanceof ConnectError && e.syscallCode === 'ECONNREFUSED' && e.connectionState === 'connecting');
    await afterwards(c, endpoint);
  });

  it('02 reset during the TLS handshake → TlsHandshakeError (or ConnectError)', async () => {
    const server = createServer((s) => s.resetAndDestroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const c = client();
    const endpoint = { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, thumbprint: ids.agent.thumbprint };
    await fails(() => call(c, endpoint), (e) => e instanceof TlsHandshakeError || e instanceof ConnectError);
    await afterwards(c, endpoint);
  });

  it('03 reset right after MX-CLIENT → AgentRejectedClientError naming our thumbprint', async () => {
    const agent = await startFakeAgent(async (peer) => {
      await peer.reader.readExact(6 + 17, 'identification', { phase: 'read', timeoutMs: 5000 });
      peer.socket.resetAndDestroy();
    });
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof AgentRejectedClientError && e.clientThumbprint === ids.client.thumbprint);
    await afterwards(c, agent.endpoint);
  });

  it('04 pause during identification → identification timeout', async () => {
    const agent = await startFakeAgent((peer) => peer.ignore());
    const c = client({ handshakeTimeoutMs: 200 });
    await fails(() => call(c, agent.endpoint), (e) => e instanceof PhaseTimeoutError && e.phase === 'identification');
    await afterwards(c, agent.endpoint);
  });

  it('05 pause after the request → first-response-byte timeout, the request may have run', async () => {
    const c = client({ responseTimeoutMs: 200 });
    await fails(() => call(c, healthy.endpoint, 'Never'), (e) => e instanceof PhaseTimeoutError && e.phase === 'response' && e.connectionState === 'unknown');
    await afterwards(c, healthy.endpoint);
  });

  it('06 reset in the middle of a response → ConnectionClosedError', async () => {
    const agent = await fake(async (peer) => {
      const full = response(`${'x'.repeat(60_000)}${Math.random()}`);
      await peer.write(full.subarray(0, full.length >> 1));
      peer.socket.resetAndDestroy();
    });
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof ConnectionClosedError);
    await afterwards(c, agent.endpoint);
  });

  it('07 reset in the middle of a downloaded DataStream → DataStreamError', async () => {
    const forwarder = await Forwarder.start(healthy.endpoint);
    forwarder.onData = (link, direction) => {
      if (direction === 'down' && link.down > 2 * 1024 * 1024) link.reset();
    };
    const c = client();
    const via = forwarder.endpointFor(healthy.endpoint);
    await fails(() => call(c, via, 'Download', [64 * 1024 * 1024]), (e) => e instanceof DataStreamError);
    await afterwards(c, via);
  });

  it('08 reset in the middle of an uploaded DataStream → ConnectionClosedError, the request may have run', async () => {
    const forwarder = await Forwarder.start(healthy.endpoint);
    forwarder.onData = (link, direction) => {
      if (direction === 'up' && link.up > 2 * 1024 * 1024) link.reset();
    };
    const c = client();
    const via = forwarder.endpointFor(healthy.endpoint);
    const size = 64 * 1024 * 1024;
    await fails(() => call(c, via, 'Upload', [DataStream.fromReadable(() => payload(size), size)]), (e) => e instanceof ConnectionClosedError && e.connectionState === 'unknown');
    await afterwards(c, via);
  });

  it('09 a byte corrupted on the wire → the TLS layer notices', async () => {
    const forwarder = await Forwarder.start(healthy.endpoint);
    const c = client();
    const via = forwarder.endpointFor(healthy.endpoint);
    assert.equal(await call(c, via), 'pong');
    forwarder.transform = (_link, direction, chunk) => {
      if (direction !== 'down' || chunk.length < 8) return chunk;
      const bad = Buffer.from(chunk);
      bad[bad.length - 3]! ^= 0xff;
      return bad;
    };
    // Every connection through this link is corrupted: the pooled one fails its NEXT, a new one fails its handshake.
    await fails(() => call(c, via), (e) => e instanceof ConnectionClosedError || e instanceof TlsHandshakeError);
    forwarder.transform = undefined;
    await afterwards(c, via);
  });

  it('10 a corrupt byte inside the DEFLATE stream → MessageFormatError', async () => {
    const agent = await fake(async (peer) => {
      const bad = Buffer.from(response('hello'));
      bad[2]! ^= 0x55;
      await peer.write(bad);
    });
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof MessageFormatError || e instanceof ConnectionClosedError);
    await afterwards(c, agent.endpoint);
  });

  it('11 a corrupt BSON length → MessageFormatError', async () => {
    const agent = await fake(async (peer) => {
      const bson = encodeBson({ Message: { $type: RESPONSE_TYPE, id: '', error: null, result: 'x' } });
      bson.writeInt32LE(bson.length + 100, 0);
      await peer.write(deflateRawSync(bson));
    });
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof MessageFormatError);
    await afterwards(c, agent.endpoint);
  });

  it('12 an unknown message $type → MessageFormatError', async () => {
    const agent = await fake((peer) => peer.write(deflateRawSync(encodeBson({ Message: { $type: 'Evil.Type, Evil', id: '', result: 1 } }))));
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof MessageFormatError && /Unexpected message type/.test(e.message));
    await afterwards(c, agent.endpoint);
  });

  it('13 a response to a different call → ProtocolError', async () => {
    const agent = await fake((peer) => peer.write(response('pong', 'IOther::Other[9] / 00000000-0000-0000-0000-000000000000')));
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof ProtocolError && /different call/.test(e.message));
    await afterwards(c, agent.endpoint);
  });

  it('14 extra bytes after a response → the call succeeds; the polluted connection is replaced, not reused', async () => {
    const agent = await startFakeAgent(async (peer) => {
      await peer.identify();
      for (;;) {
        const request = await peer.readRequest();
        if (request === null) return;
        const decoded = decodeMessage(request);
        await peer.write(Buffer.concat([response('pong', decoded.message.id), Buffer.from('junk\r\n')]));
        // What follows NEXT would be PROCEED; the junk came first, so the client must drop this connection.
        await peer.reader.read(100, { phase: 'read', timeoutMs: 5000 });
      }
    });
    const c = client({ retry: { attempts: 2, delayMs: 0 } });
    const closed: string[] = [];
    c.on('connectionClosed', (e) => closed.push(e.reason));
    assert.equal(await call(c, agent.endpoint), 'pong');
    assert.equal(await call(c, agent.endpoint), 'pong');
    assert.deepEqual(closed, ['stale']);
    await afterwards(c, agent.endpoint);
  });

  it('15 a data stream longer than declared → DataStreamError', async () => {
    const { result, bytes } = streamFrame(5, 10, 10);
    const agent = await fake(async (peer) => {
      await peer.write(response(result, peer.requestId));
      await peer.write(bytes);
    });
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof DataStreamError);
    await afterwards(c, agent.endpoint);
  });

  it('16 a data stream shorter than declared, then a close → DataStreamError', async () => {
    const { result, bytes } = streamFrame(1000, 500, 1000);
    const agent = await fake(async (peer) => {
      await peer.write(response(result, peer.requestId));
      await peer.write(bytes.subarray(0, 24 + 500));
      peer.socket.end();
    });
    const c = client();
    await fails(() => call(c, agent.endpoint), (e) => e instanceof DataStreamError);
    await afterwards(c, agent.endpoint);
  });

  it('17 the agent restarts between pooled calls → transparent', async () => {
    const first = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], services });
    const address = await first.listen();
    const c = client();
    const endpoint = { url: address.url, thumbprint: address.thumbprint };
    assert.equal(await call(c, endpoint), 'pong');
    await first.close();
    const second = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], services });
    onCleanup(() => second.close());
    await second.listen({ port: address.port });
    assert.equal(await call(c, endpoint), 'pong');
    await afterwards(c, endpoint);
  });

  it('18 the agent drops the connection just as NEXT arrives → transparent', async () => {
    const forwarder = await Forwarder.start(healthy.endpoint);
    const c = client();
    const via = forwarder.endpointFor(healthy.endpoint);
    assert.equal(await call(c, via), 'pong');
    forwarder.transform = (link, direction, chunk) => {
      if (direction === 'up' && chunk.length > 0 && forwarder.accepted === 1) setImmediate(() => link.kill());
      return chunk;
    };
    assert.equal(await call(c, via), 'pong');
    assert.equal(forwarder.accepted, 2);
    forwarder.transform = undefined;
    await afterwards(c, via);
  });

  it('19 the agent rotates its certificate → pin mismatch, then success with the new pin', async () => {
    const first = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], services });
    const address = await first.listen();
    const c = client();
    assert.equal(await call(c, { url: address.url, thumbprint: ids.agent.thumbprint }), 'pong');
    await first.close();
    const rotated = new ListeningAgent({ certificate: ids.stranger, trustedThumbprints: [ids.client.thumbprint], services });
    onCleanup(() => rotated.close());
    await rotated.listen({ port: address.port });
    await fails(
      () => call(c, { url: address.url, thumbprint: ids.agent.thumbprint }),
      (e) => e instanceof CertificateMismatchError && e.actual === ids.stranger.thumbprint,
    );
    assert.equal(await call(c, { url: address.url, thumbprint: [ids.agent.thumbprint, ids.stranger.thumbprint] }), 'pong');
    await afterwards(c, { url: address.url, thumbprint: ids.stranger.thumbprint });
  });

  it('20 the proxy dies mid-tunnel → ConnectionClosedError', async () => {
    const proxy = await startScriptedProxy('forward');
    const forwarder = await Forwarder.start({ url: `https://127.0.0.1:${proxy.port}/`, thumbprint: '' });
    const proxyVia = `http://127.0.0.1:${new URL(forwarder.endpointFor(healthy.endpoint).url).port}`;
    const c = client({ proxy: proxyVia, responseTimeoutMs: 5000 });
    const pending = call(c, healthy.endpoint, 'Never');
    await eventually(() => assert.equal(c.stats(healthy.endpoint).inUse, 1));
    await eventually(() => assert.ok(forwarder.links.size > 0, 'a link is open'));
    forwarder.killAll();
    await fails(() => pending, (e) => e instanceof ConnectionClosedError && e.connectionState === 'unknown');
    await afterwards(c, healthy.endpoint);
  });

  it('21 a host name that does not resolve → HostNotFoundError, not retried', async () => {
    const c = client({
      retry: { attempts: 5, delayMs: 0 },
      lookup: (hostname, _options, callback) => callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 4),
    });
    const endpoint = { url: 'https://tentacle.does-not-exist.example:10933/', thumbprint: ids.agent.thumbprint };
    await fails(() => call(c, endpoint), (e) => e instanceof HostNotFoundError && e.attempts === 1);
    await afterwards(c, endpoint);
  });

  it('22 100 calls in flight when the agent dies → every one fails typed, none hangs; then recovery', async () => {
    const dying = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], services });
    const address = await dying.listen();
    const endpoint = { url: address.url, thumbprint: address.thumbprint };
    const c = client({ maxConnectionsPerEndpoint: 100 });
    let running = 0;
    dying.on('request', () => running++);
    const calls = Array.from({ length: 100 }, () => call(c, endpoint, 'Never').then(() => 'ok', (e: unknown) => e));
    await eventually(() => assert.equal(running, 100), 10_000);
    await dying.close();
    const outcomes = await Promise.all(calls);
    for (const o of outcomes) assert.ok(o instanceof ConnectionClosedError && o.connectionState === 'unknown', String(o));
    const revived = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], services });
    onCleanup(() => revived.close());
    await revived.listen({ port: address.port });
    assert.equal(await call(c, endpoint), 'pong');
    await afterwards(c, endpoint);
  });

  it('23 close() with its signal aborted while a response is stalled → the call fails, close returns', async () => {
    const c = new HalibutClient({ certificate: ids.client });
    const pending = call(c, healthy.endpoint, 'Never');
    await eventually(() => assert.equal(c.stats(healthy.endpoint).inUse, 1));
    await c.close({ signal: AbortSignal.abort() });
    await fails(() => pending, (e) => e instanceof ClientClosedError && e.connectionState === 'unknown');
    await assert.rejects(call(c, healthy.endpoint), ClientClosedError);
  });

  it('24 close() with its signal aborted while connecting → the attempt stops at once', async () => {
    const forwarder = await Forwarder.start(healthy.endpoint);
    forwarder.pauseNew = true;
    const c = new HalibutClient({ certificate: ids.client, retry: false });
    const via = forwarder.endpointFor(healthy.endpoint);
    const pending = call(c, via);
    await eventually(() => assert.equal(c.stats(via).connecting, 1));
    await c.close({ signal: AbortSignal.abort() });
    await fails(() => pending, (e) => e instanceof ClientClosedError && e.connectionState === 'connecting');
    assert.deepEqual(c.stats(via), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('25 a stalled upload → write timeout', async () => {
    const forwarder = await Forwarder.start(healthy.endpoint);
    forwarder.onData = (link, direction) => {
      if (direction === 'up' && link.up > 1024 * 1024) link.pauseUp();
    };
    const c = client({ readTimeoutMs: 200 });
    const via = forwarder.endpointFor(healthy.endpoint);
    const size = 256 * 1024 * 1024;
    await fails(() => call(c, via, 'Upload', [DataStream.fromReadable(() => payload(size), size)]), (e) => e instanceof PhaseTimeoutError && e.phase === 'write');
    await afterwards(c, via);
  });

  it('26 a stalled download → read timeout', async () => {
    const forwarder = await Forwarder.start(healthy.endpoint);
    forwarder.onData = (link, direction) => {
      if (direction === 'down' && link.down > 1024 * 1024) link.pauseDown();
    };
    const c = client({ readTimeoutMs: 200 });
    const via = forwarder.endpointFor(healthy.endpoint);
    await fails(() => call(c, via, 'Download', [256 * 1024 * 1024]), (e) => e instanceof PhaseTimeoutError && e.phase === 'read');
    await afterwards(c, via);
  });

  it('27 a plain HTTP server on the port → NotTlsError', async () => {
    const server = createHttpServer((_q, r) => r.end('hi'));
    const sockets = new Set<Socket>();
    server.on('connection', (s) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const c = client();
    const endpoint = { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, thumbprint: ids.agent.thumbprint };
    await fails(() => call(c, endpoint), (e) => e instanceof NotTlsError);
    await afterwards(c, endpoint);
  });

  it('28 an agent that does not trust us → AgentRejectedClientError, nothing ran', async () => {
    let ran = 0;
    const { agent, endpoint } = await startAgent({ services: { S: { Ping: () => ++ran } } });
    agent.untrust(ids.client.thumbprint);
    const c = client();
    await fails(() => call(c, endpoint), (e) => e instanceof AgentRejectedClientError);
    assert.equal(ran, 0);
    await afterwards(c, endpoint);
  });
});
