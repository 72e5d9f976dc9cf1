// Scenario 6, run in a fresh process of its own so that the client's memory is not inflated by what earlier
// scenarios allocated: many endpoints, one pooled idle connection each. Prints its results as one JSON line.
import { HalibutClient, generateCertificate, type Endpoint } from '../../lib/index.js';
import type { ScenarioResult } from './context.js';
import { spawnPeer } from './spawn-peer.js';

const quick = process.argv.includes('--quick');
const ctx = { quick, identity: await generateCertificate({ commonName: 'bench scale client' }) };
process.stdout.write(`${JSON.stringify(await measure())}\n`);

async function measure(): Promise<ScenarioResult[]> {
  const total = ctx.quick ? 100 : 1000;
  const processes = ctx.quick ? 1 : 4;
  const peers = await Promise.all(Array.from({ length: processes }, () => spawnPeer(ctx.identity.thumbprint, total / processes)));
  try {
    const endpoints: Endpoint[] = peers.flatMap((p) => p.endpoints);
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage();
    const client = new HalibutClient({ certificate: ctx.identity, maxIdleTimeMs: 600_000 });
    const start = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < endpoints.length) {
          const endpoint = endpoints[next++]!;
          await client.call(endpoint, { service: 'IBenchService', method: 'Echo', params: ['hi'] });
        }
      }),
    );
    const ms = performance.now() - start;
    gc?.();
    const after = process.memoryUsage();
    const idle = endpoints.reduce((n, e) => n + client.stats(e).idle, 0);
    await client.close();
    const perConnectionKiB = (after.rss - before.rss) / idle / 1024;
    const result: ScenarioResult[] = [
      {
        scenario: `scale: call ${total} endpoints once, 64 in flight`,
        unit: 'seconds',
        value: { median: Number((ms / 1000).toFixed(3)), min: Number((ms / 1000).toFixed(3)), max: Number((ms / 1000).toFixed(3)) },
        extra: { endpoints: total, idleConnections: idle },
      },
      {
        scenario: `scale: client memory with ${idle} idle pooled connections`,
        unit: 'MiB RSS',
        value: { median: Number((after.rss / 1024 / 1024).toFixed(1)), min: Number((after.rss / 1024 / 1024).toFixed(1)), max: Number((after.rss / 1024 / 1024).toFixed(1)) },
        target: total === 1000 ? 'RSS < 200 MiB with 1,000 idle connections' : 'full run only',
        ...(total === 1000 ? { targetMet: after.rss < 200 * 1024 * 1024 } : {}),
        extra: {
          rssPerConnectionKiB: Number(perConnectionKiB.toFixed(1)),
          heapPerConnectionKiB: Number(((after.heapUsed - before.heapUsed) / idle / 1024).toFixed(1)),
        },
      },
    ];
    return result;
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
  }
}
