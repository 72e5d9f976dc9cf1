// The embedded agent against clients that never identify: a cap on connections still identifying, and a total
// deadline for identification however the client paces its bytes. Real TCP and TLS on loopback.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { HalibutClient, HalibutError, type Endpoint } from '../lib/index.js';
import type { DropReason } from '../lib/testing/index.js';
import { startAgent } from './support/agent.js';
import { onCleanup, closeEverythingAfterwards } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();

function hold(port: number): Socket {
  const socket = netConnect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  onCleanup(() => socket.destroy());
  return socket;
}

describe('connections that have not identified', () => {
  it('beyond the limit, a new connection is closed at once; identified ones do not count', async () => {
    const { agent, endpoint, client } = await startAgent({ maxUnidentifiedConnections: 5, services: { S: { Ping: () => 'pong' } } }, { retry: false });
    const drops: DropReason[] = [];
    agent.on('dropped', (reason) => drops.push(reason));
    // One identified connection, kept in the client's pool: it must not count.
    assert.equal(await client.call(endpoint, { service: 'S', method: 'Ping' }), 'pong');
    const port = Number(new URL(endpoint.url).port);
    const held = Array.from({ length: 5 }, () => hold(port));
    await eventually(() => assert.equal(agent.unidentifiedCount, 5));

    const refused = hold(port);
    await once(refused, 'close');
    assert.deepEqual(drops, ['too-many-unidentified']);
    // The pooled, identified connection still works.
    assert.equal(await client.call(endpoint, { service: 'S', method: 'Ping' }), 'pong');
    // A new client cannot get in while the five are held…
    const fresh = startAgentClient(endpoint);
    await assert.rejects(fresh(), (err: unknown) => err instanceof HalibutError);
    // …and can once one of them goes.
    held[0]!.destroy();
    await eventually(() => assert.equal(agent.unidentifiedCount, 4));
    assert.equal(await fresh(), 'pong');
    assert.equal(agent.unidentifiedCount, 4);
  });

  it('a client that drips its identification is dropped at the total deadline', async () => {
    const { agent, endpoint } = await startAgent({ identificationTimeoutMs: 1000 });
    const drops: DropReason[] = [];
    agent.on('dropped', (reason) => drops.push(reason));
    const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(endpoint.url).port), cert: ids.client.cert, key: ids.client.key, rejectUnauthorized: false });
    socket.on('error', () => undefined);
    onCleanup(() => socket.destroy());
    await once(socket, 'secureConnect');
    // One byte every 100 ms: each is progress for the inactivity timeout (60 s), so only a total deadline ends it.
    const identification = Buffer.from('MX\r\n\r\nMX-CLIENT 1.0\r\n\r\n'.replace('MX\r\n', 'MX                                              \r\n'));
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < identification.length && !socket.destroyed) socket.write(identification.subarray(sent, ++sent));
    }, 100);
    onCleanup(() => clearInterval(drip));
    const started = Date.now();
    await once(socket, 'close');
    clearInterval(drip);
    assert.deepEqual(drops, ['identification-timeout']);
    assert.ok(sent < identification.length, `dropped before it finished identifying (${sent} of ${identification.length} bytes)`);
    assert.ok(Date.now() - started < 10_000, 'within a generous bound of the 1 s deadline');
    assert.equal(agent.unidentifiedCount, 0);
  });

  it('the deadline does not touch a connection that identified in time', async () => {
    const { agent, endpoint, client } = await startAgent({ identificationTimeoutMs: 300, services: { S: { Slow: () => new Promise((resolve) => setTimeout(() => resolve('done'), 800)) } } }, { retry: false });
    assert.equal(await client.call(endpoint, { service: 'S', method: 'Slow' }), 'done');
    assert.equal(agent.unidentifiedCount, 0);
  });
});

/** A call through a new client of its own (so that it needs a new connection), closed afterwards. */
function startAgentClient(endpoint: Endpoint): () => Promise<unknown> {
  return async () => {
    const c = new HalibutClient({ certificate: ids.client, retry: false, maxIdlePerEndpoint: 0, handshakeTimeoutMs: 5000 });
    try {
      return await c.call(endpoint, { service: 'S', method: 'Ping' });
    } finally {
      await c.close();
    }
  };
}
