// A new connection as the client opens one (TCP, mutual TLS with the pin, identification), without the pool.
import { ClientConnection } from '../../lib/protocol/client-connection.js';
import { dialTcp } from '../../lib/transport/tcp.js';
import type { TLSSocket } from 'node:tls';
import { secureSocket, type TlsOptions } from '../../lib/transport/tls.js';
import type { BenchContext } from './context.js';
import { rawConnect, readExact } from './raw-client.js';

/** `observe` sees the TLS socket as soon as the handshake is done, before identification. */
export async function openConnection(
  ctx: BenchContext,
  url: string,
  pin: string,
  tls: Pick<TlsOptions, 'maxVersion' | 'sessionTicketWaitMs'> = {},
  observe?: (socket: TLSSocket) => void,
): Promise<ClientConnection> {
  const { hostname, port } = new URL(url);
  const tcp = await dialTcp({ host: hostname, port: Number(port) }, { connectTimeoutMs: 10_000 });
  const socket = await secureSocket(tcp, { cert: ctx.identity.cert, key: ctx.identity.key, pins: [pin], host: hostname, endpoint: url, handshakeTimeoutMs: 10_000, ...tls });
  observe?.(socket);
  const connection = new ClientConnection(socket, {
    endpoint: url,
    clientThumbprint: ctx.identity.thumbprint,
    timeouts: { identificationMs: 10_000, heartbeatMs: 10_000, responseMs: 10_000, readMs: 10_000 },
    maxMessageBytes: 1 << 20,
    maxDepth: 64,
  });
  await connection.identify();
  return connection;
}

/** A bare mutual-TLS handshake against the raw server, until its first byte after verifying our certificate. */
export async function bareHandshake(ctx: BenchContext, pin: string, maxVersion?: 'TLSv1.2' | 'TLSv1.3', rawPort = ctx.peer.rawPort): Promise<void> {
  const socket = await rawConnect(rawPort, ctx.identity, pin, maxVersion);
  socket.write('H');
  await readExact(socket, 1);
  socket.destroy();
}
