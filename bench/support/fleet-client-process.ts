// The fleet's client when its memory is what is measured, in a fresh process of its own (the benchmark's main process
// has run other scenarios and holds their garbage and caches). Reads a job as JSON from stdin, prints its figures as
// one JSON line. Jobs:
// - `idle`: one call to each endpoint, so that each leaves one idle pooled connection; RSS growth per connection.
// - `idle-bare`: the baseline: a bare mutual-TLS connection to each endpoint (raw-client.ts), held open.
// - `scripts`: one stub script on every endpoint at once through runScriptOnMany, several rounds; CPU per script run.
import type { TLSSocket } from 'node:tls';
import { HalibutClient, TentacleClient, loadPem, type Endpoint } from '../../lib/index.js';
import { openMutual } from './raw-client.js';
import { eachInFlight } from './stats.js';
import { STUB_SCRIPT_LINES } from './stub-script-service.js';

export interface FleetClientJob {
  mode: 'idle' | 'idle-bare' | 'scripts';
  endpoints: Endpoint[];
  certificate: { cert: string; key: string };
  /** `idle`: calls in flight. */
  inFlight: number;
  /** `scripts`: runs over every endpoint, the first of them on new connections. */
  rounds: number;
}

export interface IdleFigures {
  /** Connections opened between the two measurements (the first `warm` are not counted). */
  measured: number;
  warm: number;
  idle: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssPerConnectionKiB: number;
  heapPerConnectionKiB: number;
  externalPerConnectionKiB: number;
  seconds: number;
  fdLimit: string;
}

export interface ScriptFigures {
  targets: number;
  /** Per round: client CPU (user + system) per script run, µs, and the round's wall time, ms. */
  cpuPerScriptUs: number[];
  wallMs: number[];
  rssBeforeMiB: number;
  rssAfterMiB: number;
  peakRssMiB: number;
  fdLimit: string;
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FleetClientJob;
const gc = (globalThis as { gc?: () => void }).gc ?? ((): void => undefined);
const MiB = 1024 * 1024;
const fdLimit = process.env['HALIBUT_BENCH_FD_LIMIT'] ?? 'unknown';
const round1 = (n: number): number => Number(n.toFixed(1));

process.stdout.write(`${JSON.stringify(job.mode === 'scripts' ? await scripts() : job.mode === 'idle' ? await idle() : await idleBare())}\n`);

/** What holding a connection to every endpoint costs, the first few not counted; `count` says how many are open. */
async function held(open: (endpoint: Endpoint) => Promise<void>, count: () => number): Promise<IdleFigures> {
  const { endpoints } = job;
  // The first connections pay for what is allocated once (code, TLS contexts, buffers): not counted.
  const warm = Math.min(64, Math.floor(endpoints.length / 10));
  await eachInFlight(endpoints.slice(0, warm), job.inFlight, open);
  gc();
  gc();
  const before = process.memoryUsage();
  const ms = await eachInFlight(endpoints.slice(warm), job.inFlight, open);
  gc();
  gc();
  const after = process.memoryUsage();
  const idle = count();
  if (idle !== endpoints.length) throw new Error(`expected ${endpoints.length} connections held open, there are ${idle}`);
  const measured = endpoints.length - warm;
  const per = (a: number, b: number): number => round1((a - b) / measured / 1024);
  return {
    measured,
    warm,
    idle,
    rssBeforeMiB: round1(before.rss / MiB),
    rssAfterMiB: round1(after.rss / MiB),
    rssPerConnectionKiB: per(after.rss, before.rss),
    heapPerConnectionKiB: per(after.heapUsed, before.heapUsed),
    externalPerConnectionKiB: per(after.external, before.external),
    seconds: Number((ms / 1000).toFixed(2)),
    fdLimit,
  };
}

async function idle(): Promise<IdleFigures> {
  // maxConnections above the count, so that no connection is evicted; idle ones kept long enough to be counted.
  const client = new HalibutClient({ certificate: job.certificate, maxConnections: job.endpoints.length + 64, maxIdleTimeMs: 600_000 });
  try {
    const call = async (endpoint: Endpoint): Promise<void> => {
      await client.call(endpoint, { service: 'IBenchService', method: 'Echo', params: ['hi'] });
    };
    return await held(call, () => client.stats().idle);
  } finally {
    await client.close();
  }
}

async function idleBare(): Promise<IdleFigures> {
  const identity = loadPem(job.certificate.cert, job.certificate.key);
  const sockets: TLSSocket[] = [];
  try {
    const open = async (endpoint: Endpoint): Promise<void> => {
      sockets.push(await openMutual(endpoint.url, identity, endpoint.thumbprint as string));
    };
    return await held(open, () => sockets.filter((s) => !s.destroyed).length);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

async function scripts(): Promise<ScriptFigures> {
  const targets = job.endpoints.map((e, i) => ({ ...e, name: `agent-${i}` }));
  const client = new HalibutClient({ certificate: job.certificate, maxConnections: Math.max(4096, targets.length + 64) });
  const tentacle = new TentacleClient(client);
  const cpuPerScriptUs: number[] = [];
  const wallMs: number[] = [];
  try {
    gc();
    const before = process.memoryUsage().rss;
    for (let r = 0; r < job.rounds; r++) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      // Every target at once: `concurrency` as large as the fleet.
      const run = tentacle.runScriptOnMany(targets, { body: 'echo stub', concurrency: targets.length });
      let lines = 0;
      for await (const event of run) if (event.type === 'line') lines++;
      const summary = await run;
      wallMs.push(Number((performance.now() - start).toFixed(1)));
      const used = process.cpuUsage(cpu);
      cpuPerScriptUs.push(Math.round((used.user + used.system) / targets.length));
      if (summary.succeeded.length !== targets.length) throw new Error(`${summary.failed.length} of ${targets.length} scripts failed: ${JSON.stringify(summary.targets.find((t) => t.status !== 'succeeded'))}`);
      if (lines !== targets.length * STUB_SCRIPT_LINES) throw new Error(`expected ${targets.length * STUB_SCRIPT_LINES} lines, got ${lines}`);
    }
    gc();
    return {
      targets: targets.length,
      cpuPerScriptUs,
      wallMs,
      rssBeforeMiB: round1(before / MiB),
      rssAfterMiB: round1(process.memoryUsage().rss / MiB),
      peakRssMiB: round1((process.resourceUsage().maxRSS * 1024) / MiB),
      fdLimit,
    };
  } finally {
    await client.close();
  }
}
