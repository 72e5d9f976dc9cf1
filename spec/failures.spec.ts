// Every way a peer can go wrong ends in its own typed error, quickly, with nothing left open.
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import {
  AgentRejectedClientError,
  CertificateMismatchError,
  ConnectionClosedError,
  DataStream,
  DataStreamError,
  HalibutClient,
  MessageFormatError,
  MessageTooLargeError,
  NotHalibutPeerError,
  NotTlsError,
  PhaseTimeoutError,
  type Endpoint,
} from '../lib/index.js';
import { encodeBson } from '../lib/protocol/bson.js';
import { Guid, Int64 } from '../lib/protocol/dotnet-values.js';
import { encodeResponse, RESPONSE_TYPE } from '../lib/protocol/message-codec.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { startFakeAgent } from './support/fake-agent.js';
import { identities } from './support/identities.js';

const ids = await identities();
const newClient = (options: Partial<ConstructorParameters<typeof HalibutClient>[0]> = {}): HalibutClient => {
  const client = new HalibutClient({ certificate: ids.client, ...options });
  onCleanup(() => client.close());
  return client;
};
const call = (client: HalibutClient, endpoint: Endpoint) => client.call(endpoint, { service: 'IEchoService', method: 'SayHello', params: ['x'] });

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => {
    // Test servers are not under test: drop whatever connections they still hold.
    if ('closeAllConnections' in server) server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

function responseBytes(result: unknown): Buffer {
  return deflateRawSync(encodeResponse({ id: '', error: null, result }).bson);
}


closeEverythingAfterwards();

describe('pinning and trust', () => {
  it('rejects an agent whose thumbprint is not pinned, naming expected and actual', async () => {
    let executed = 0;
    const { agent, endpoint } = await startAgent({ services: { IEchoService: { SayHello: () => ++executed } } });
    const client = newClient();
    const wrongPin = ids.stranger.thumbprint;
    await assert.rejects(call(client, { url: endpoint.url, thumbprint: wrongPin }), (err: unknown) => {
      assert.ok(err instanceof CertificateMismatchError);
      assert.equal(err.code, 'ERR_CERTIFICATE_MISMATCH');
      assert.deepEqual(err.expected, [wrongPin]);
      assert.equal(err.actual, agent.thumbprint);
      assert.equal(err.subject, 'CN=test agent');
      assert.ok(err.message.includes(wrongPin) && err.message.includes(agent.thumbprint));
      return true;
    });
    assert.equal(executed, 0);
    await eventually(() => assert.equal(agent.connectionCount, 0));
  });

  it('accepts any of several pins (certificate rotation)', async () => {
    const { client, endpoint } = await startAgent({ services: { IEchoService: { SayHello: () => 'ok' } } });
    const rotated = { url: endpoint.url, thumbprint: [ids.stranger.thumbprint, String(endpoint.thumbprint).toLowerCase()] };
    assert.equal(await call(client, rotated), 'ok');
  });

  it('reports an agent that does not trust us, and the agent runs nothing', async () => {
    let executed = 0;
    const { agent, endpoint } = await startAgent({ services: { IEchoService: { SayHello: () => ++executed } } });
    const rejected: string[] = [];
    agent.on('rejected', (reason, thumbprint) => rejected.push(`${reason}:${thumbprint}`));
    // Halibut retries this failure (it cannot tell it from a reset); two quick attempts show that.
    const stranger = new HalibutClient({ certificate: ids.stranger, retry: { attempts: 2, delayMs: 0 } });
    onCleanup(() => stranger.close());
    await assert.rejects(call(stranger, endpoint), (err: unknown) => {
      assert.ok(err instanceof AgentRejectedClientError);
      assert.equal(err.clientThumbprint, ids.stranger.thumbprint);
      assert.match(err.message, new RegExp(ids.stranger.thumbprint));
      assert.equal(err.attempts, 2);
      assert.equal(err.connectionState, 'connecting');
      assert.match(err.message, /2 attempts .* never reached the agent/);
      return true;
    });
    assert.equal(executed, 0);
    assert.deepEqual(rejected, [`untrusted:${ids.stranger.thumbprint}`, `untrusted:${ids.stranger.thumbprint}`]);
    assert.deepEqual(stranger.stats(endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('closes a connection that presents no client certificate without writing anything', async () => {
    const { agent, endpoint } = await startAgent();
    const rejected: string[] = [];
    agent.on('rejected', (reason) => rejected.push(reason));
    const port = Number(new URL(endpoint.url).port);
    const received = await new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        socket.write('MX\r\n\r\nMX-CLIENT 1.0\r\n\r\n');
      });
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    assert.equal(received.length, 0);
    assert.deepEqual(rejected, ['no-certificate']);
  });
});

describe('peers that are not Halibut', () => {
  it('names a plain HTTP server as not TLS', async () => {
    const port = await listen(createHttpServer((_req, res) => res.end('hello')));
    await assert.rejects(call(newClient(), { url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }), NotTlsError);
  });

  it('names an HTTPS server and quotes its first line', async () => {
    const server = createHttpsServer({ cert: ids.agent.cert, key: ids.agent.key }, (_req, res) => res.end('<html>hi</html>'));
    const port = await listen(server);
    await assert.rejects(call(newClient(), { url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }), (err: unknown) => {
      assert.ok(err instanceof NotHalibutPeerError);
      assert.match(err.firstLine, /^HTTP\/1\.1 400/);
      assert.match(err.message, /not a Halibut service/);
      return true;
    });
  });

  it('times out a TCP server that never starts TLS', async () => {
    // It reads (so it notices the client leaving) but never answers.
    const server = createTcpServer((socket) => socket.resume());
    const port = await listen(server);
    const started = Date.now();
    await assert.rejects(
      call(newClient({ handshakeTimeoutMs: 300, retry: false }), { url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }),
      (err: unknown) => err instanceof PhaseTimeoutError && err.phase === 'handshake' && err.timeoutMs === 300,
    );
    assert.ok(Date.now() - started < 5000);
  });

  it('times out a TLS server that never answers identification', async () => {
    const fake = await startFakeAgent((peer) => peer.ignore());
    await assert.rejects(
      call(newClient({ handshakeTimeoutMs: 300, retry: false }), fake.endpoint),
      (err: unknown) => err instanceof PhaseTimeoutError && err.phase === 'identification',
    );
    await eventually(() => assert.equal(fake.openConnections(), 0));
  });

  it('names a peer that answers identification with something else', async () => {
    const fake = await startFakeAgent(async (peer) => {
      await peer.write('SSH-2.0-OpenSSH_9.2\r\n');
    });
    await assert.rejects(call(newClient(), fake.endpoint), (err: unknown) => err instanceof NotHalibutPeerError && err.firstLine === 'SSH-2.0-OpenSSH_9.2');
  });
});

/** A response whose result is a DataStream of `length` bytes, and that stream's 24-byte header (no body). */
function dataStreamResponse(length: number, requestId: string): Buffer {
  const id = Guid.random();
  const result = { $type: 'Halibut.DataStream, Halibut', id, length: new Int64(length) };
  const header = Buffer.alloc(24);
  id.writeTo(header, 0);
  header.writeBigInt64LE(BigInt(length), 16);
  // One buffer on purpose: the message and the stream header arrive in the same TLS record.
  return Buffer.concat([deflateRawSync(encodeBson({ Message: { $type: RESPONSE_TYPE, id: requestId, error: null, result } })), header]);
}

describe('broken responses', () => {
  const scenarios: Array<[string, (peer: import('./support/fake-agent.js').FakePeer) => Promise<void>, (err: unknown) => boolean]> = [
    [
      'the agent closes without answering',
      async (peer) => {
        await peer.identify();
        await peer.readRequest();
        peer.socket.end();
      },
      (err) => err instanceof ConnectionClosedError && /without answering/.test(err.message),
    ],
    [
      'the agent closes mid-message',
      async (peer) => {
        await peer.identify();
        await peer.readRequest();
        const full = responseBytes(`${'x'.repeat(50_000)}${Math.random()}`);
        await peer.write(full.subarray(0, full.length >> 1));
        peer.socket.end();
      },
      (err) => err instanceof ConnectionClosedError && /middle of a message/.test(err.message),
    ],
    [
      'the response is garbage',
      async (peer) => {
        await peer.identify();
        await peer.readRequest();
        await peer.write(Buffer.from('this is not deflate at all, not even close\r\n'));
      },
      (err) => err instanceof MessageFormatError,
    ],
    [
      'the response is truncated deflate followed by a close',
      async (peer) => {
        await peer.identify();
        await peer.readRequest();
        const full = responseBytes('hello');
        await peer.write(full.subarray(0, full.length - 3));
        peer.socket.end();
      },
      (err) => err instanceof ConnectionClosedError,
    ],
    [
      'the response inflates past the bound (a deflate bomb)',
      async (peer) => {
        await peer.identify();
        await peer.readRequest();
        const bomb = encodeBson({ Message: { $type: RESPONSE_TYPE, id: '', error: null, result: 'A'.repeat(8 * 1024 * 1024) } });
        await peer.write(deflateRawSync(bomb, { level: 9 }));
      },
      (err) => err instanceof MessageTooLargeError && err.limit === 1024 * 1024,
    ],
    [
      'the response data stream is shorter than declared and the agent closes',
      async (peer) => {
        await peer.identify();
        await peer.readRequest();
        await peer.write(dataStreamResponse(1000, peer.requestId));
        await peer.write(Buffer.alloc(500, 7));
        peer.socket.end();
      },
      (err) => err instanceof DataStreamError && /500 of 1000/.test(err.message),
    ],
    [
      'the data stream trailer disagrees with its length',
      async (peer) => {
        await peer.identify();
        await peer.readRequest();
        await peer.write(dataStreamResponse(4, peer.requestId));
        const bodyAndTrailer = Buffer.alloc(4 + 8);
        bodyAndTrailer.write('abcd', 0);
        bodyAndTrailer.writeBigInt64LE(5n, 4);
        await peer.write(bodyAndTrailer);
      },
      (err) => err instanceof DataStreamError && /trailer/.test(err.message),
    ],
  ];

  for (const [name, script, check] of scenarios) {
    it(`fails the call cleanly when ${name}`, async () => {
      const fake = await startFakeAgent(script);
      const client = newClient({ maxMessageBytes: 1024 * 1024, readTimeoutMs: 5000 });
      const started = Date.now();
      await assert.rejects(async () => {
        const result = await call(client, fake.endpoint);
        // Data-stream failures surface when the stream is read.
        if (result instanceof DataStream) await result.toBuffer();
      }, check);
      assert.ok(Date.now() - started < 5000, 'failed within a bounded time');
      await eventually(() => assert.deepEqual(client.stats(fake.endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 }));
      await eventually(() => assert.equal(fake.openConnections(), 0));
    });
  }
});
