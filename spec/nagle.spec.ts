// New connections against an agent that keeps Nagle's algorithm on, as a Tentacle does. Under TLS 1.3 the agent's
// session tickets are a small write of their own; its MX-SERVER, the next small write, waits for their ACK, which the
// client's kernel delays (~40 ms on Linux) unless the client sends something after they arrived. So the client must
// send its identification only once the tickets are in. That order is what these tests assert, as seen on the wire
// by a forwarder; the latency itself is measured by the benchmark (`npm run bench -- --only nagle`), not asserted.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { ClientConnection } from '../lib/protocol/client-connection.js';
import { Guid } from '../lib/protocol/dotnet-values.js';
import { DELAYED_ACK_MS, ticketsSettled, ticketWaitMs, watchSessionTickets } from '../lib/transport/session-tickets.js';
import { dialTcp } from '../lib/transport/tcp.js';
import { secureSocket } from '../lib/transport/tls.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { Forwarder } from './support/forwarder.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();

type Direction = 'up' | 'down';

/** One TLS record as the forwarder passed it: its direction, total size, and the step at which it was complete. */
interface SeenRecord {
  direction: Direction;
  type: number;
  bytes: number;
  step: number;
}

/** Splits both directions of the forwarder's traffic into TLS records, in the order the forwarder passed them. */
function recordTimeline(forwarder: Forwarder): SeenRecord[] {
  const records: SeenRecord[] = [];
  const buffered: Record<Direction, Buffer> = { up: Buffer.alloc(0), down: Buffer.alloc(0) };
  let step = 0;
  forwarder.transform = (_link, direction, chunk) => {
    step++;
    let rest = Buffer.concat([buffered[direction], chunk]);
    while (rest.length >= 5 && rest.length >= 5 + rest.readUInt16BE(3)) {
      const bytes = 5 + rest.readUInt16BE(3);
      records.push({ direction, type: rest[0]!, bytes, step });
      rest = rest.subarray(bytes);
    }
    buffered[direction] = rest;
    return chunk;
  };
  return records;
}

// Sizes of the control records under TLS 1.3 (AEAD with a 16-byte tag, 1 byte of inner content type).
const MX_RECORD = 5 + 'MX\r\n\r\n'.length + 1 + 16;
const IDENTITY_RECORD = 5 + 'MX-CLIENT 1.0\r\n\r\n'.length + 1 + 16;

/** A new connection through `endpoint` and one call, as the client opens them. */
async function connectAndCall(url: string, pin: string, options: { maxVersion?: 'TLSv1.2' | 'TLSv1.3'; sessionTicketWaitMs?: number } = {}): Promise<{ protocol: string | null; settledAtOnce: boolean }> {
  const ids = await identities();
  const { hostname, port } = new URL(url);
  const tcp = await dialTcp({ host: hostname, port: Number(port) }, { connectTimeoutMs: 10_000 });
  const tls = await secureSocket(tcp, { cert: ids.client.cert, key: ids.client.key, pins: [pin], host: hostname, endpoint: url, handshakeTimeoutMs: 10_000, ...options });
  // Settled before any I/O turn: no wait was started.
  const settledAtOnce = await Promise.race([ticketsSettled(tls).then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
  const connection = new ClientConnection(tls, {
    endpoint: url,
    clientThumbprint: ids.client.thumbprint,
    timeouts: { identificationMs: 10_000, heartbeatMs: 10_000, responseMs: 10_000, readMs: 10_000 },
    maxMessageBytes: 1 << 20,
    maxDepth: 64,
  });
  try {
    await connection.identify();
    const { response } = await connection.exchange({ id: 'nagle', activityId: Guid.parse('00000000-0000-0000-0000-000000000001'), endpoint: null, service: 'IEchoService', method: 'Echo', params: ['hi'] });
    assert.equal(response.result, 'hi');
    return { protocol: tls.getProtocol(), settledAtOnce };
  } finally {
    connection.destroy();
  }
}

const echo = { IEchoService: { Echo: (value: unknown) => value } };

describe('identification against an agent with Nagle on', () => {
  it('under TLS 1.3, sends MX-CLIENT only after the session tickets reached the client, and no byte of it changes', async () => {
    const { endpoint } = await startAgent({ tcpNoDelay: false, services: echo });
    const forwarder = await Forwarder.start(endpoint);
    const records = recordTimeline(forwarder);
    // A bound far above any scheduling delay: the order asserted below cannot come from the bound running out.
    const { protocol, settledAtOnce } = await connectAndCall(forwarder.endpointFor(endpoint).url, endpoint.thumbprint as string, { sessionTicketWaitMs: 60_000 });
    assert.equal(protocol, 'TLSv1.3');
    assert.equal(settledAtOnce, false);

    const up = records.filter((r) => r.direction === 'up' && r.type === 23);
    const mx = up.findIndex((r) => r.bytes === MX_RECORD);
    assert.ok(mx > 0, 'MX is sent after the handshake records');
    // The same application records as ever, in the same order: MX, then the identity line, then the request.
    assert.equal(up[mx + 1]?.bytes, IDENTITY_RECORD);
    const identity = up[mx + 1]!;
    const mxServer = records.findIndex((r) => r.direction === 'down' && r.bytes === IDENTITY_RECORD);
    assert.ok(mxServer > 0, 'MX-SERVER came back');
    const beforeReply = records.slice(0, mxServer).filter((r) => r.direction === 'down' && r.type === 23);
    // Everything the agent wrote before MX-SERVER: its encrypted handshake and, last, the tickets.
    const lastTicket = beforeReply.at(-1)!;
    const clientFinished = up[mx - 1]!;
    assert.ok(lastTicket.step > clientFinished.step, 'the agent wrote something after the handshake (its session tickets)');
    assert.ok(lastTicket.step < identity.step, 'every ticket was passed to the client before its identity line left it');
  });

  it('under TLS 1.2, starts no wait: its ticket comes inside the handshake', async () => {
    const { endpoint } = await startAgent({ tcpNoDelay: false, services: echo });
    const { protocol, settledAtOnce } = await connectAndCall(endpoint.url, endpoint.thumbprint as string, { maxVersion: 'TLSv1.2', sessionTicketWaitMs: 60_000 });
    assert.equal(protocol, 'TLSv1.2');
    assert.equal(settledAtOnce, true);
  });

  it('under TLS 1.3 with the default bound, connects and calls', async () => {
    const { endpoint } = await startAgent({ tcpNoDelay: false, services: echo });
    for (let i = 0; i < 3; i++) assert.equal((await connectAndCall(endpoint.url, endpoint.thumbprint as string)).protocol, 'TLSv1.3');
  });
});

describe('the bound on the wait for session tickets', () => {
  it('is twice the handshake, at least 2 ms, at most the delayed-ACK time, and none for TLS 1.2', () => {
    assert.equal(ticketWaitMs('TLSv1.2', 5), 0);
    assert.equal(ticketWaitMs(null, 5), 0);
    assert.equal(ticketWaitMs('TLSv1.3', 0.2), 2);
    assert.equal(ticketWaitMs('TLSv1.3', 6), 12);
    assert.equal(ticketWaitMs('TLSv1.3', 30), DELAYED_ACK_MS);
    assert.equal(ticketWaitMs('TLSv1.3', 500), DELAYED_ACK_MS);
  });

  const fakeSocket = (): TLSSocket => new EventEmitter() as unknown as TLSSocket;

  it('ends with the second ticket, not the bound', async () => {
    const socket = fakeSocket();
    watchSessionTickets(socket, 600_000);
    socket.emit('session', Buffer.alloc(1));
    socket.emit('session', Buffer.alloc(1));
    await ticketsSettled(socket);
    assert.equal(socket.listenerCount('session'), 0);
    assert.equal(socket.listenerCount('close'), 0);
  });

  it('gives a lone ticket only a short grace for a second', async () => {
    const socket = fakeSocket();
    watchSessionTickets(socket, 600_000);
    socket.emit('session', Buffer.alloc(1));
    await ticketsSettled(socket);
  });

  it('ends when the socket closes', async () => {
    const socket = fakeSocket();
    watchSessionTickets(socket, 600_000);
    socket.emit('close');
    await ticketsSettled(socket);
    assert.equal(socket.listenerCount('session'), 0);
  });

  it('ends when the bound passes without a ticket', async () => {
    const socket = fakeSocket();
    watchSessionTickets(socket, 5);
    await ticketsSettled(socket);
    assert.equal(socket.listenerCount('session'), 0);
  });

  it('waits for nothing with a bound of 0', async () => {
    const socket = fakeSocket();
    watchSessionTickets(socket, 0);
    assert.equal(socket.listenerCount('session'), 0);
    await ticketsSettled(socket);
  });
});
