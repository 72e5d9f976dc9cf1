// One process of the fleet: `count` listening agents on 127.0.0.1, each on a port of its own, all with the same
// certificate, Nagle on (as a Tentacle), serving the services of stub-script-service.ts. Reads its configuration as
// JSON from argv[2], prints one JSON line (the URLs and its file-descriptor limit), runs until stdin ends.
import { loadPem } from '../../lib/index.js';
import { ListeningAgent } from '../../lib/testing/index.js';
import { TENTACLE_BINDING } from '../../lib/testing/tentacle/index.js';
import { fleetServices } from './stub-script-service.js';

interface Config {
  /** The client's thumbprint. */
  trusted: string;
  count: number;
  certificate: { cert: string; key: string };
}
const config = JSON.parse(process.argv[2] ?? '{}') as Config;

// Parsed once: an agent given PEM parses it again, which for thousands of agents takes seconds.
const certificate = loadPem(config.certificate.cert, config.certificate.key);
// Idle connections are held open as long as the benchmark needs them: opening 10 000 can take minutes, longer than
// a Tentacle keeps one idle (NEXT awaited 60 s after a response) or waits for a first line (the baseline's bare
// connections never identify).
const patience = { nextTimeoutMs: 900_000, readTimeoutMs: 900_000, identificationTimeoutMs: 900_000 };
const agents: ListeningAgent[] = [];
const urls: string[] = [];
for (let i = 0; i < config.count; i++) {
  const agent = new ListeningAgent({ certificate, trustedThumbprints: [config.trusted], services: fleetServices(), binding: TENTACLE_BINDING, tcpNoDelay: false, ...patience });
  urls.push((await agent.listen({ host: '127.0.0.1', port: 0 })).url);
  agents.push(agent);
}

process.stdout.write(`${JSON.stringify({ urls, fdLimit: process.env['HALIBUT_BENCH_FD_LIMIT'] ?? 'unknown' })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void Promise.all(agents.map((a) => a.close())).then(() => process.exit(0)));
