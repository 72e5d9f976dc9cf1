// Calls per second through the pool (one connection reused with NEXT/PROCEED) against one new connection per call
// (TCP + mutual TLS + identification every time), both against the same agent process in the same run.
// Prints one JSON line per scenario, then a summary line with the ratio. Usage: npm run bench:pool [-- --quick]
import { HalibutClient, generateCertificate } from '../lib/index.js';
import { spawnAgent } from './support/spawn-agent.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 1 : 5;
const rounds = quick ? 1 : 3;

const identity = await generateCertificate({ commonName: 'bench client' });
const agent = await spawnAgent(identity.thumbprint);

async function measure(name: string, client: HalibutClient): Promise<number> {
  const request = { service: 'IBenchService', method: 'Echo', params: ['x'.repeat(100)] };
  for (let i = 0; i < 20; i++) await client.call(agent.endpoint, request); // warm-up
  const results: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let calls = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      await client.call(agent.endpoint, request);
      calls++;
    }
    results.push(calls / ((performance.now() - start) / 1000));
  }
  results.sort((a, b) => a - b);
  const median = results[Math.floor(results.length / 2)]!;
  console.log(JSON.stringify({ scenario: name, unit: 'calls/s', median: Math.round(median), min: Math.round(results[0]!), max: Math.round(results.at(-1)!), rounds }));
  return median;
}

try {
  const pooled = new HalibutClient({ certificate: identity });
  const pooledRate = await measure('sequential calls, pooled connection', pooled);
  await pooled.close();
  const unpooled = new HalibutClient({ certificate: identity, maxIdlePerEndpoint: 0 });
  const unpooledRate = await measure('sequential calls, one connection per call', unpooled);
  await unpooled.close();
  console.log(JSON.stringify({ summary: 'pool speed-up', ratio: Number((pooledRate / unpooledRate).toFixed(2)) }));
} finally {
  await agent.stop();
}
