// The soak: mixed calls, uploads and downloads with hash checks, and script runs whose every output line is
// checked, against several agents (each serving the Tentacle services too), each behind a forwarder
// that injects random faults (killed and reset connections, stalls, corrupted bytes). At the end it reports what
// was done and fails if any call produced an untyped error or wrong data (nothing may be lost or corrupted
// silently), or if sockets, timers or memory did not come back to where they started.
// Usage: npm run soak -- --minutes N [--seed S] [--json FILE]
import { writeFileSync } from 'node:fs';
import { DataStream, HalibutClient, HalibutError, TentacleClient, generateCertificate, type Endpoint } from '../lib/index.js';
import { ListeningAgent, createTentacleServices, type TentacleServices } from '../lib/testing/index.js';
import { Forwarder } from '../spec/support/forwarder.js';
import { payload, sha256 } from '../spec/support/payload.js';
import { closeAll } from '../spec/support/cleanup-list.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const minutes = Number(option('--minutes') ?? '1');
let seed = Number(option('--seed') ?? String(Date.now() % 1_000_000));
const jsonFile = option('--json');
const startSeed = seed;

/** A small seeded generator, so that a failing run can be repeated with --seed. */
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const gc = (globalThis as { gc?: () => void }).gc;
const handles = (): string[] => process.getActiveResourcesInfo().filter((r) => /TCP|TLS|Timeout/.test(r));
const baselineHandles = handles().length;
gc?.();
const baselineHeap = process.memoryUsage().heapUsed;

const [agentId, clientId] = await Promise.all([generateCertificate({ commonName: 'soak agent' }), generateCertificate({ commonName: 'soak client' })]);
const services = {
  S: {
    Echo: (value: unknown) => value,
    Upload: (stream: DataStream) => sha256(stream.readable()),
    Download: (length: number, seed: number) => DataStream.fromReadable(() => payload(length, seed), length),
  },
};

const agents: ListeningAgent[] = [];
const tentacles: TentacleServices[] = [];
const forwarders: Forwarder[] = [];
const endpoints: Endpoint[] = [];
for (let i = 0; i < 3; i++) {
  const tentacle = await createTentacleServices();
  tentacles.push(tentacle);
  const agent = new ListeningAgent({ certificate: agentId, trustedThumbprints: [clientId.thumbprint], services: { ...services, ...tentacle.services }, nextTimeoutMs: 2000 });
  const address = await agent.listen();
  const forwarder = await Forwarder.start({ url: address.url, thumbprint: address.thumbprint });
  agents.push(agent);
  forwarders.push(forwarder);
  endpoints.push(forwarder.endpointFor({ url: address.url, thumbprint: address.thumbprint }));
}

const client = new HalibutClient({
  certificate: clientId,
  readTimeoutMs: 2000,
  responseTimeoutMs: 5000,
  heartbeatTimeoutMs: 1000,
  handshakeTimeoutMs: 2000,
  connectTimeoutMs: 2000,
  maxConnectionsPerEndpoint: 4,
  retry: { attempts: 3, delayMs: 50 },
});
const tentacleClient = new TentacleClient(client, { poll: { minDelayMs: 20, maxDelayMs: 200 }, startWaitMs: 500, cancelTimeoutMs: 30_000 });

const report = {
  seed: startSeed,
  minutes,
  calls: 0,
  succeeded: 0,
  errorsByType: {} as Record<string, number>,
  uploads: { verified: 0, failed: 0 },
  downloads: { verified: 0, failed: 0 },
  scripts: { verified: 0, failed: 0, linesVerified: 0 },
  bytesVerified: 0,
  faultsInjected: {} as Record<string, number>,
  violations: [] as string[],
  handles: { before: baselineHandles, after: -1 },
  heapGrowthMiB: 0,
};

function recordError(err: unknown, what: string): void {
  if (!(err instanceof HalibutError)) {
    report.violations.push(`${what}: untyped error ${String(err)}`);
    return;
  }
  report.errorsByType[err.code] = (report.errorsByType[err.code] ?? 0) + 1;
}

async function operation(): Promise<void> {
  const endpoint = pick(endpoints);
  const kind = pick(['echo', 'echo', 'upload', 'download', 'script'] as const);
  report.calls++;
  try {
    if (kind === 'echo') {
      const value = { $type: 'Soak.Value, Soak', text: `t${report.calls}`, list: [1, 2, 3] };
      const back = await client.call(endpoint, { service: 'S', method: 'Echo', params: [value] });
      if (JSON.stringify(back) !== JSON.stringify(value)) report.violations.push(`echo returned different data: ${JSON.stringify(back)}`);
    } else if (kind === 'upload') {
      const length = Math.floor(random() * 4 * 1024 * 1024);
      const s = Math.floor(random() * 1000);
      const expected = await sha256(payload(length, s));
      try {
        const got = (await client.call(endpoint, { service: 'S', method: 'Upload', params: [DataStream.fromReadable(() => payload(length, s), length)] })) as { hash: string; length: number };
        if (got.hash !== expected.hash || got.length !== length) report.violations.push(`upload of ${length} bytes arrived as ${got.length} bytes / different hash`);
        else {
          report.uploads.verified++;
          report.bytesVerified += length;
        }
      } catch (err) {
        report.uploads.failed++;
        throw err;
      }
    } else if (kind === 'script') {
      // Every line must arrive exactly once and in order, whatever the links did; a V2 start sent again after a
      // lost connection must not run the script twice (its lines would then appear twice).
      const count = 1 + Math.floor(random() * 2000);
      const tag = `r${report.calls}`;
      try {
        const run = tentacleClient.runScript(endpoint, { body: `for i in $(seq 1 ${count}); do echo "${tag} $i"; done` });
        const lines: string[] = [];
        for await (const line of run) if (line.source === 'stdout' && line.text.startsWith(`${tag} `)) lines.push(line.text);
        const result = await run;
        const expected = Array.from({ length: count }, (_, i) => `${tag} ${i + 1}`);
        if (result.exitCode !== 0) report.violations.push(`script ${tag} exited with ${result.exitCode}`);
        else if (lines.join('\n') !== expected.join('\n')) report.violations.push(`script ${tag}: ${lines.length} of ${count} lines, or out of order / repeated`);
        else {
          report.scripts.verified++;
          report.scripts.linesVerified += count;
        }
      } catch (err) {
        report.scripts.failed++;
        throw err;
      }
    } else {
      const length = Math.floor(random() * 4 * 1024 * 1024);
      const s = Math.floor(random() * 1000);
      try {
        const stream = (await client.call(endpoint, { service: 'S', method: 'Download', params: [length, s] })) as DataStream;
        const got = await sha256(stream.readable());
        const expected = await sha256(payload(length, s));
        if (got.hash !== expected.hash) report.violations.push(`download of ${length} bytes arrived different (${got.length} bytes)`);
        else {
          report.downloads.verified++;
          report.bytesVerified += length;
        }
      } catch (err) {
        report.downloads.failed++;
        throw err;
      }
    }
    report.succeeded++;
  } catch (err) {
    recordError(err, kind);
  }
}

/** Every so often, something goes wrong on some link. */
function injectFault(): void {
  const forwarder = pick(forwarders);
  const links = [...forwarder.links];
  const link = links.length > 0 ? pick(links) : undefined;
  if (link === undefined) return;
  const fault = pick(['kill', 'reset', 'stall', 'corrupt'] as const);
  report.faultsInjected[fault] = (report.faultsInjected[fault] ?? 0) + 1;
  if (fault === 'kill') link.kill();
  else if (fault === 'reset') link.reset();
  else if (fault === 'stall') {
    link.pause();
    setTimeout(() => link.resume(), Math.floor(random() * 3000)).unref();
  } else {
    let done = false;
    forwarder.transform = (l, _direction, chunk) => {
      if (done || l !== link || chunk.length === 0) return chunk;
      done = true;
      const bad = Buffer.from(chunk);
      bad[Math.floor(random() * bad.length)]! ^= 0x40;
      return bad;
    };
  }
}

const deadline = Date.now() + minutes * 60_000;
const faults = setInterval(injectFault, 200);
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (Date.now() < deadline) await operation();
  }),
);
clearInterval(faults);

await client.close();
for (const f of forwarders) await f.close();
for (const a of agents) await a.close();
for (const t of tentacles) await t.dispose();
await closeAll();
// Sockets close asynchronously; give them a bounded moment to go.
for (let i = 0; i < 100 && handles().length > baselineHandles; i++) await new Promise((r) => setImmediate(r));
const waitUntil = Date.now() + 5000;
while (handles().length > baselineHandles && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
report.handles.after = handles().length;
gc?.();
report.heapGrowthMiB = Number(((process.memoryUsage().heapUsed - baselineHeap) / 1024 / 1024).toFixed(1));
if (report.handles.after > baselineHandles) report.violations.push(`handles left open: ${handles().join(', ')}`);
if (report.heapGrowthMiB > 64) report.violations.push(`heap grew by ${report.heapGrowthMiB} MiB`);
if (report.succeeded === 0) report.violations.push('no call succeeded');

console.log(JSON.stringify(report, null, 2));
if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.violations.length === 0 ? 0 : 1;
