// A scripted TLS peer for the failures the real agent would never produce: it does identification correctly (or
// not), then writes whatever bytes a test tells it to. It accepts any client certificate.
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { decodeBson } from '../../lib/protocol/bson.js';
import { ByteReader } from '../../lib/protocol/byte-reader.js';
import { readCompressedMessage } from '../../lib/protocol/compressed-message.js';
import { MX_SERVER, readControlLine, writeAll } from '../../lib/protocol/control-lines.js';
import type { Endpoint } from '../../lib/index.js';
import { onCleanup } from './cleanup.js';
import { identities } from './identities.js';

export interface FakePeer {
  socket: TLSSocket;
  reader: ByteReader;
  /** Reads `MX`, `MX-CLIENT` and the blank line, then answers `MX-SERVER`. */
  identify(): Promise<void>;
  /** Reads one request message (BSON bytes). */
  readRequest(): Promise<Buffer | null>;
  /** The id of the request read last ('' before any): a response must echo it to be taken as the answer. */
  requestId: string;
  write(bytes: Buffer | string): Promise<void>;
  /** Reads and ignores everything until the client goes away (a peer that never answers, but notices the close). */
  ignore(): Promise<void>;
}

export interface FakeAgent {
  endpoint: Endpoint;
  /** Open server-side sockets. */
  openConnections(): number;
}

export async function startFakeAgent(script: (peer: FakePeer) => Promise<void>): Promise<FakeAgent> {
  const ids = await identities();
  const sockets = new Set<TLSSocket>();
  const server = createServer({ cert: ids.agent.cert, key: ids.agent.key, requestCert: true, rejectUnauthorized: false }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new ByteReader(socket);
    const deadline = { phase: 'read', timeoutMs: 10_000 } as const;
    const peer: FakePeer = {
      socket,
      reader,
      async identify() {
        assertLine(await readControlLine(reader, deadline), 'MX');
        assertLine(await readControlLine(reader, deadline), '');
        assertLine(await readControlLine(reader, deadline), 'MX-CLIENT 1.0');
        assertLine(await readControlLine(reader, deadline), '');
        await writeAll(socket, MX_SERVER);
      },
      requestId: '',
      async readRequest() {
        const bson = await readCompressedMessage(reader, { maxMessageBytes: 1 << 26, read: deadline });
        if (bson !== null) peer.requestId = requestIdOf(bson);
        return bson;
      },
      write: (bytes) => writeAll(socket, typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes),
      async ignore() {
        while ((await reader.read(1 << 20)) !== null);
      },
    };
    script(peer).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { endpoint: { url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }, openConnections: () => sockets.size };
}

/** The `id` of a request message, from its BSON. */
export function requestIdOf(bson: Buffer): string {
  const message = decodeBson(bson)['Message'] as { id?: unknown } | undefined;
  return typeof message?.id === 'string' ? message.id : '';
}

function assertLine(actual: string | null, expected: string): void {
  if (actual !== expected) throw new Error(`fake agent expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
