// The far side of every benchmark, in its own process so that client and peer each get a core:
// - `agents` listening agents (IBenchService), and
// - one raw mutual-TLS server, the baseline: the same round trips and byte counts with no Halibut codec.
// Reads its configuration as JSON from argv[2], prints one JSON line describing what it started, runs until stdin ends.
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { DataStream, generateCertificate } from '../../lib/index.js';
import { ListeningAgent } from '../../lib/testing/index.js';
import { blocks } from './blocks.js';

interface Config {
  trusted: string;
  agents: number;
  /** Nagle off on the agents' connections (the agent's default); false behaves like a Tentacle. */
  tcpNoDelay?: boolean;
}
const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const identity = await generateCertificate({ commonName: 'bench peer' });


const services = {
  IBenchService: {
    Echo: (value: unknown) => value,
    Sink: async (stream: DataStream) => {
      let bytes = 0;
      for await (const chunk of stream.readable()) bytes += (chunk as Buffer).length;
      return bytes;
    },
    Source: (length: number) => DataStream.fromReadable(() => blocks(length), length),
  },
};

const agents: ListeningAgent[] = [];
const urls: string[] = [];
for (let i = 0; i < config.agents; i++) {
  const agent = new ListeningAgent({ certificate: identity, trustedThumbprints: [config.trusted], services, tcpNoDelay: config.tcpNoDelay ?? true });
  urls.push((await agent.listen({ host: '127.0.0.1', port: 0 })).url);
  agents.push(agent);
}

/** Reads exactly n bytes (n may be 0). */
function readExact(socket: TLSSocket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (n === 0) return finish(Buffer.alloc(0));
      const chunk = socket.read(n) as Buffer | null;
      if (chunk !== null) finish(chunk);
    };
    const finish = (b: Buffer): void => {
      socket.off('readable', attempt).off('end', onEnd);
      resolve(b);
    };
    const onEnd = (): void => reject(new Error('closed'));
    socket.on('readable', attempt).once('end', onEnd);
    attempt();
  });
}

async function write(socket: TLSSocket, data: Buffer): Promise<void> {
  if (!socket.write(data)) await new Promise((resolve) => socket.once('drain', resolve));
}

const PROCEED = Buffer.from('PROCEED\r\n');
const raw = createServer({ cert: identity.cert, key: identity.key, requestCert: true, rejectUnauthorized: false }, (socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  void (async () => {
    // Pin the client exactly as the agent does, so the baseline pays for the same checks.
    const peer = socket.getPeerCertificate();
    if (peer.raw === undefined || createHash('sha1').update(peer.raw).digest('hex').toUpperCase() !== config.trusted) return socket.destroy();
    const mode = (await readExact(socket, 1)).toString('latin1');
    if (mode === 'H') return socket.end('K');
    if (mode === 'R') {
      const sizes = await readExact(socket, 8);
      const response = Buffer.alloc(sizes.readUInt32LE(4), 1);
      for (;;) {
        await readExact(socket, 6);
        await write(socket, PROCEED);
        await readExact(socket, sizes.readUInt32LE(0));
        await write(socket, response);
      }
    }
    const length = Number((await readExact(socket, 8)).readBigUInt64LE(0));
    if (mode === 'U') {
      // Counted from 'data' events: leaving a for-await loop early would destroy the socket before the reply.
      let got = 0;
      await new Promise<void>((resolve) => {
        const onData = (chunk: Buffer): void => {
          got += chunk.length;
          if (got < length) return;
          socket.off('data', onData);
          resolve();
        };
        socket.on('data', onData);
      });
      const reply = Buffer.alloc(8);
      reply.writeBigUInt64LE(BigInt(got));
      return socket.end(reply);
    }
    if (mode === 'D') {
      for await (const chunk of blocks(length)) await write(socket, chunk as Buffer);
      return socket.end();
    }
  })().catch(() => socket.destroy());
});
await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));

process.stdout.write(`${JSON.stringify({ agents: urls, thumbprint: identity.thumbprint, raw: (raw.address() as AddressInfo).port })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  raw.close();
  void Promise.all(agents.map((a) => a.close())).then(() => process.exit(0));
});
