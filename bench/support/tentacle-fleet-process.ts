// Embedded Tentacle agents in a process of their own, for the queue benchmark: so that the agents' work (TLS, bash)
// is not charged to the process being measured. Usage: tentacle-fleet-process.ts '{"trusted":"THUMBPRINT","agents":N}'.
// Prints one JSON line `{ "endpoints": [{ url, thumbprint }], … }` once listening, then `starts N` (scripts started
// in total) whenever it is sent a line on stdin; stops when stdin ends.
import { createInterface } from 'node:readline';
import { generateCertificate } from '../../lib/index.js';
import { startTentacleAgent } from '../../lib/testing/index.js';

const { trusted, agents: count } = JSON.parse(process.argv[2] ?? '{}') as { trusted: string; agents: number };
const certificate = await generateCertificate({ commonName: 'bench tentacle' });
const agents = await Promise.all(Array.from({ length: count }, () => startTentacleAgent({ certificate, trustedThumbprints: [trusted], tcpNoDelay: true })));
process.stdout.write(`${JSON.stringify({ endpoints: agents.map((a) => a.endpoint) })}\n`);
const input = createInterface({ input: process.stdin });
input.on('line', () => process.stdout.write(`starts ${agents.reduce((n, a) => n + a.tentacle.scriptsStarted, 0)}\n`));
input.once('close', () => {
  void Promise.all(agents.map((a) => a.close())).then(() => process.exit(0));
});
