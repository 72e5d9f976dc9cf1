// 4: new connections per second, TCP + mutual TLS + pin + identification, against bare mutual-TLS handshakes.
import { ClientConnection } from '../../lib/protocol/client-connection.js';
import { dialTcp } from '../../lib/transport/tcp.js';
import { secureSocket } from '../../lib/transport/tls.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { rawConnect, readExact } from '../support/raw-client.js';
import { forDuration, stats } from '../support/stats.js';

export async function connectionSetup(ctx: BenchContext): Promise<ScenarioResult> {
  const endpoint = ctx.peer.endpoints[0]!;
  const { hostname, port } = new URL(endpoint.url);
  const pin = endpoint.thumbprint as string;
  const ours = async (): Promise<void> => {
    const tcp = await dialTcp({ host: hostname, port: Number(port) }, { connectTimeoutMs: 10_000 });
    const tls = await secureSocket(tcp, { cert: ctx.identity.cert, key: ctx.identity.key, pins: [pin], host: hostname, endpoint: endpoint.url, handshakeTimeoutMs: 10_000 });
    const connection = new ClientConnection(tls, {
      endpoint: endpoint.url,
      clientThumbprint: ctx.identity.thumbprint,
      timeouts: { identificationMs: 10_000, heartbeatMs: 10_000, responseMs: 10_000, readMs: 10_000 },
      maxMessageBytes: 1 << 20,
      maxDepth: 64,
    });
    await connection.identify();
    connection.destroy();
  };
  const bare = async (): Promise<void> => {
    const socket = await rawConnect(ctx.peer.rawPort, ctx.identity, pin);
    socket.write('H');
    // The server writes only after verifying our certificate: a full mutual handshake.
    await readExact(socket, 1);
    socket.destroy();
  };
  for (let i = 0; i < 20; i++) {
    await ours();
    await bare();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    a.push((await forDuration(ctx.roundMs, ours)).perSecond);
    b.push((await forDuration(ctx.roundMs, bare)).perSecond);
  }
  return compare(
    {
      scenario: 'connection setup',
      unit: 'connections/s',
      value: stats(a),
      baselineName: 'bare mutual-TLS handshakes (until the first byte after client verification)',
      baseline: stats(b),
    },
    0.9,
  );
}
