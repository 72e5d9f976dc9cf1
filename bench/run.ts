// The benchmark suite: every scenario against a baseline measured in the same run, the far side in a child process.
// Usage: npm run bench [-- --quick] [-- --json FILE] [-- --only NAME,NAME]
// Prints a table and one JSON line per scenario. Fails only if a scenario errors, never on speed.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { generateCertificate } from '../lib/index.js';
import { codec } from './scenarios/codec.js';
import { connectionSetup } from './scenarios/connection-setup.js';
import { dataStreams } from './scenarios/data-streams.js';
import { fleet } from './scenarios/fleet.js';
import { nagle } from './scenarios/nagle.js';
import { instrumentedCalls } from './scenarios/instrumented-calls.js';
import { parallelCalls, pooledCalls } from './scenarios/pooled-calls.js';
import { poolVersusFresh } from './scenarios/pool-vs-fresh.js';
import { queue } from './scenarios/queue.js';
import { scale } from './scenarios/scale.js';
import type { BenchContext, ScenarioResult } from './support/context.js';
import { spawnPeer } from './support/spawn-peer.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonIndex = args.indexOf('--json');
const jsonFile = jsonIndex >= 0 ? args[jsonIndex + 1] : undefined;
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').split(',')) : undefined;

const identity = await generateCertificate({ commonName: 'bench client' });
const peer = await spawnPeer(identity.thumbprint, 1);
const ctx: BenchContext = { quick, identity, peer, rounds: quick ? 1 : 5, roundMs: quick ? 400 : 2000 };

const scenarios: Array<[string, () => Promise<ScenarioResult | ScenarioResult[]>]> = [
  ['calls', () => pooledCalls(ctx)],
  ['parallel', async () => [await parallelCalls(ctx, 1), await parallelCalls(ctx, 8), await parallelCalls(ctx, 64)]],
  ['upload', () => dataStreams(ctx, 'upload')],
  ['download', () => dataStreams(ctx, 'download')],
  ['setup', () => connectionSetup(ctx)],
  ['nagle', () => nagle(ctx)],
  ['codec', () => codec(ctx)],
  ['pool', () => poolVersusFresh(ctx)],
  ['scale', () => scale(ctx)],
  ['otel', () => instrumentedCalls(ctx)],
  ['queue', () => queue(ctx)],
  ['fleet', () => fleet(ctx)],
];

const results: ScenarioResult[] = [];
let failed = false;
try {
  for (const [name, run] of scenarios) {
    if (only !== undefined && !only.has(name)) continue;
    try {
      const out = await run();
      for (const r of Array.isArray(out) ? out : [out]) {
        results.push(r);
        console.log(JSON.stringify(r));
      }
    } catch (err) {
      failed = true;
      console.error(`scenario ${name} failed:`, err);
    }
  }
} finally {
  await peer.stop();
}

const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(3));
console.log(`\nNode ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}${quick ? ' (quick run)' : ''}`);
console.log('| scenario | ours (median [min–max]) | baseline (median) | ratio | target |');
console.log('|---|---|---|---|---|');
for (const r of results) {
  const ours = `${fmt(r.value.median)} [${fmt(r.value.min)}–${fmt(r.value.max)}] ${r.unit}`;
  const base = r.baseline === undefined ? '—' : `${fmt(r.baseline.median)} ${r.unit} (${r.baselineName ?? ''})`;
  const target = r.target === undefined ? '' : `${r.target}: ${r.targetMet === undefined ? 'n/a' : r.targetMet ? 'met' : 'NOT met'}`;
  console.log(`| ${r.scenario} | ${ours} | ${base} | ${r.ratio ?? '—'} | ${target} |`);
}
if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify({ node: process.version, cpus: cpus().length, quick, results }, null, 2)}\n`);
if (failed) process.exitCode = 1;
