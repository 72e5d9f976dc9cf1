// The fleet: thousands of agents driven from one client. The agents are spread over several child processes, each
// listening on many ports of 127.0.0.1 with Nagle on (as Tentacles), one certificate for all; every process of the
// fleet is started with its file-descriptor limit raised where the OS allows it (support/fd-limit.ts).
// A: every agent health-checked, 256 in flight, against bare mutual-TLS handshakes to the same agents.
// B: one idle pooled connection per agent: the client's RSS per connection, in a fresh process.
// C: one stub script on many agents at once through runScriptOnMany: client CPU per script run and RSS.
// D: a new client's connection setup (and, reported beside it, the whole first call) against a Nagle-on agent,
//    against bare mutual-TLS handshakes.
import { fileURLToPath } from 'node:url';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { HalibutClient, TentacleClient, diagnosticsChannels, type ConnectionIdentifiedMessage, type Endpoint } from '../../lib/index.js';
import { runChild } from '../support/child.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { ephemeralPorts, fdLimitFor, withFdLimit } from '../support/fd-limit.js';
import type { FleetClientJob, IdleFigures, ScriptFigures } from '../support/fleet-client-process.js';
import { mutualHandshake } from '../support/raw-client.js';
import { spawnFleet } from '../support/spawn-fleet.js';
import { againstBaseline, eachInFlight, percentile, stats, type Stats } from '../support/stats.js';

const AGENT_PROCESSES = 4;
const IN_FLIGHT = 256;
/** Descriptors a process needs beyond its connections and listeners (stdio, the event loop, the loader, …). */
const FD_RESERVE = 512;

const round2 = (n: number): number => Number(n.toFixed(2));
const single = (n: number): Stats => ({ median: n, min: n, max: n });

export async function fleet(ctx: BenchContext): Promise<ScenarioResult[]> {
  began = performance.now();
  const wanted = ctx.quick ? 300 : 10_000;
  // The client holds a connection per agent (B), and an agent process a listener and a connection per agent it
  // runs; listeners and the client's connections both take local ports from the ephemeral range.
  const fdLimit = fdLimitFor(wanted + FD_RESERVE);
  const count = Math.min(wanted, hundreds(fdLimit - FD_RESERVE), hundreds((ephemeralPorts() - 2000) / 2));
  const scaled = count < wanted ? `scaled down from ${wanted}: file-descriptor limit ${fdLimit}, ${ephemeralPorts()} ephemeral ports` : 'not scaled';
  const fdLimitUsed = Number.isFinite(fdLimit) ? String(fdLimit) : 'none';
  console.error(`fleet: ${count} agents over ${AGENT_PROCESSES} processes, file-descriptor limit ${fdLimitUsed}${count < wanted ? ` (${scaled})` : ''}`);
  const agents = await spawnFleet(ctx.identity, count, AGENT_PROCESSES, wanted + FD_RESERVE);
  const common = { agentProcesses: AGENT_PROCESSES, fdLimit: fdLimitUsed, agentFdLimits: [...new Set(agents.fdLimits)].join(','), count: scaled };
  try {
    const endpoints = agents.endpoints;
    progress('agents started');
    return [
      progress('A', await healthChecks(ctx, endpoints, common)),
      progress('B', await idleConnections(ctx, endpoints, common)),
      progress('C', await scriptsAtOnce(ctx, endpoints.slice(0, ctx.quick ? 100 : 1_000), common)),
      ...(await setupAgainstNagle(ctx, endpoints)).map((r) => progress('D', r)),
    ];
  } finally {
    await agents.stop();
  }
}

let began = 0;

/** A line on stderr as each part ends, with its figure: a full run takes minutes, and a later part may fail. */
function progress(what: string, result?: ScenarioResult): ScenarioResult {
  const figure = result === undefined ? '' : `: ${result.value.median.toFixed(1)} ${result.unit}${result.baseline === undefined ? '' : `, baseline ${result.baseline.median.toFixed(1)}, ratio ${result.ratio}`}`;
  console.error(`fleet: ${what} after ${((performance.now() - began) / 1000).toFixed(1)} s${figure}`);
  return result!;
}

function hundreds(n: number): number {
  return Number.isFinite(n) ? Math.max(100, Math.floor(n / 100) * 100) : Infinity;
}

/**
 * A: `tentacle.healthCheck` rather than `client.probe`: it is what a server runs over its Tentacles, and it is a
 * probe whose request also brings the capabilities back and decodes them, so its rate is the lower of the two. The endpoints are taken in rounds (a slice each), health checks and handshakes
 * alternating which goes first, so that the machine's load weighs on both alike.
 */
async function healthChecks(ctx: BenchContext, endpoints: Endpoint[], common: Record<string, string | number>): Promise<ScenarioResult> {
  const rounds = ctx.quick ? 2 : 5;
  const size = Math.ceil(endpoints.length / rounds);
  const client = new HalibutClient({ certificate: ctx.identity });
  const tentacle = new TentacleClient(client);
  const latencies: number[] = [];
  const ours: number[] = [];
  const bare: number[] = [];
  let oursMs = 0;
  let bareMs = 0;
  /** This process's CPU time (user + system, µs) in each, to tell the client's share of a gap from the agents'. */
  const cpu = { ours: 0, bare: 0 };
  const timed = async (which: 'ours' | 'bare', slice: Endpoint[], fn: (endpoint: Endpoint) => Promise<void>): Promise<number> => {
    const before = process.cpuUsage();
    const ms = await eachInFlight(slice, IN_FLIGHT, fn);
    const used = process.cpuUsage(before);
    cpu[which] += used.user + used.system;
    return ms;
  };
  const check = async (endpoint: Endpoint): Promise<void> => {
    const report = await tentacle.healthCheck(endpoint);
    if (!report.ok) throw new Error(`health check of ${report.url} failed at ${report.failure?.step}: ${report.failure?.explanation}`, { cause: report.failure?.error });
    latencies.push(report.latency.totalMs);
  };
  const handshake = (endpoint: Endpoint): Promise<void> => mutualHandshake(endpoint.url, ctx.identity, endpoint.thumbprint as string);
  try {
    for (let r = 0; r < rounds; r++) {
      const slice = endpoints.slice(r * size, (r + 1) * size);
      const runOurs = async (): Promise<void> => {
        const ms = await timed('ours', slice, check);
        oursMs += ms;
        ours.push(slice.length / (ms / 1000));
      };
      const runBare = async (): Promise<void> => {
        const ms = await timed('bare', slice, handshake);
        bareMs += ms;
        bare.push(slice.length / (ms / 1000));
      };
      if (r % 2 === 0) await runOurs().then(runBare);
      else await runBare().then(runOurs);
    }
  } finally {
    await client.close();
  }
  return compare(
    {
      scenario: `fleet A: health-check ${endpoints.length} agents (tentacle.healthCheck), ${IN_FLIGHT} in flight, Nagle on`,
      unit: 'checks/s',
      value: stats(ours),
      baselineName: `bare mutual-TLS handshakes to the same agents, ${IN_FLIGHT} in flight`,
      baseline: stats(bare),
      extra: {
        totalSeconds: round2(oursMs / 1000),
        bareTotalSeconds: round2(bareMs / 1000),
        checkP50Ms: round2(percentile(latencies, 50)),
        checkP99Ms: round2(percentile(latencies, 99)),
        clientCpuPerCheckUs: Math.round(cpu.ours / endpoints.length),
        clientCpuPerHandshakeUs: Math.round(cpu.bare / endpoints.length),
        rounds,
        ...common,
      },
    },
    0.8,
  );
}

const clientScript = fileURLToPath(new URL('../support/fleet-client-process.ts', import.meta.url));

/** Runs a job in a fresh client process, started with the file-descriptor limit raised for its connections. */
function inFreshClient<T>(ctx: BenchContext, job: Omit<FleetClientJob, 'certificate'>): Promise<T> {
  const [command, args] = withFdLimit(job.endpoints.length + FD_RESERVE, process.execPath, ['--expose-gc', '--import', 'tsx', clientScript]);
  const full: FleetClientJob = { ...job, certificate: { cert: ctx.identity.cert, key: ctx.identity.key } };
  return runChild<T>(command, args, JSON.stringify(full));
}

/**
 * B: measured in a fresh process, so that what earlier scenarios left in this one does not blur the figure; the
 * baseline is the same number of bare mutual-TLS connections held open, in a fresh process too.
 */
async function idleConnections(ctx: BenchContext, endpoints: Endpoint[], common: Record<string, string | number>): Promise<ScenarioResult> {
  const figures = await inFreshClient<IdleFigures>(ctx, { mode: 'idle', endpoints, inFlight: 64, rounds: 1 });
  const bare = await inFreshClient<IdleFigures>(ctx, { mode: 'idle-bare', endpoints, inFlight: 64, rounds: 1 });
  const goalKiB = 64;
  const result = compare(
    {
      scenario: `fleet B: ${figures.idle} idle pooled connections, client RSS growth per connection (fresh process)`,
      unit: 'KiB/connection',
      value: single(figures.rssPerConnectionKiB),
      baselineName: `bare mutual-TLS connections held open (node:tls), ${bare.idle}`,
      baseline: single(bare.rssPerConnectionKiB),
      extra: {
        measuredConnections: figures.measured,
        warmConnectionsNotCounted: figures.warm,
        rssBeforeMiB: figures.rssBeforeMiB,
        rssAfterMiB: figures.rssAfterMiB,
        heapPerConnectionKiB: figures.heapPerConnectionKiB,
        externalPerConnectionKiB: figures.externalPerConnectionKiB,
        openSeconds: figures.seconds,
        bareHeapPerConnectionKiB: bare.heapPerConnectionKiB,
        ...common,
        fdLimit: figures.fdLimit,
      },
    },
    undefined,
    true,
  );
  return { ...result, target: `≤ ${goalKiB} KiB per connection`, targetMet: figures.rssPerConnectionKiB <= goalKiB };
}

/** C: the first round opens a connection to every agent and asks its capabilities; later rounds reuse both. */
async function scriptsAtOnce(ctx: BenchContext, endpoints: Endpoint[], common: Record<string, string | number>): Promise<ScenarioResult> {
  const rounds = ctx.quick ? 3 : 4;
  const figures = await inFreshClient<ScriptFigures>(ctx, { mode: 'scripts', endpoints, inFlight: endpoints.length, rounds });
  const [cold, ...warm] = figures.cpuPerScriptUs;
  return {
    scenario: `fleet C: ${figures.targets} stub scripts at once (runScriptOnMany), client CPU per script run, pooled`,
    unit: 'µs CPU/script',
    value: stats(warm),
    extra: {
      firstRoundCpuPerScriptUs: cold!,
      firstRoundWallMs: figures.wallMs[0]!,
      pooledRoundWallMsMedian: stats(figures.wallMs.slice(1)).median,
      rssBeforeMiB: figures.rssBeforeMiB,
      rssAfterMiB: figures.rssAfterMiB,
      peakRssMiB: figures.peakRssMiB,
      rounds,
      ...common,
      fdLimit: figures.fdLimit,
    },
  };
}

/**
 * D: connection setup as an application meets it, against the fleet's agents (Nagle on) in turn: a new
 * HalibutClient, one call, close. Two figures: the setup alone (dial, TLS, pin check, identification: `setupMs` of
 * the `halibut:connection:identified` channel), which the goal is about, against a bare mutual-TLS handshake one at a
 * time; and the whole (new client, setup, the call, END), reported beside it. Neither reuses a TLS context, as a new
 * client cannot. TLS 1.3, the default; `--only nagle` has TLS 1.2 and the delayed-ACK stall counts.
 */
async function setupAgainstNagle(ctx: BenchContext, endpoints: Endpoint[]): Promise<ScenarioResult[]> {
  let next = 0;
  const endpoint = (): Endpoint => endpoints[next++ % endpoints.length]!;
  let setups: number[] = [];
  const identified = (message: unknown): void => {
    setups.push((message as ConnectionIdentifiedMessage).setupMs);
  };
  const ours = async (): Promise<void> => {
    const client = new HalibutClient({ certificate: ctx.identity });
    try {
      await client.call(endpoint(), { service: 'IBenchService', method: 'Echo', params: ['x'] });
    } finally {
      await client.close();
    }
  };
  const bare = (): Promise<void> => {
    const e = endpoint();
    return mutualHandshake(e.url, ctx.identity, e.thumbprint as string);
  };
  const setupRates: number[] = [];
  const setupLatencies: number[] = [];
  // The setups of each round of ours ran one at a time: their rate is one over their mean duration.
  const round = (edge: 'start' | 'end'): void => {
    if (edge === 'start') {
      setups = [];
      return;
    }
    setupRates.push(setups.length / (setups.reduce((sum, ms) => sum + ms, 0) / 1000));
    setupLatencies.push(...setups);
  };
  subscribe(diagnosticsChannels.connectionIdentified, identified);
  let measured: Awaited<ReturnType<typeof againstBaseline>>;
  try {
    measured = await againstBaseline(ctx.rounds, ctx.roundMs, 10, ours, bare, round);
  } finally {
    unsubscribe(diagnosticsChannels.connectionIdentified, identified);
  }
  return [
    compare(
      {
        scenario: 'fleet D: connection setup (dial, TLS, pin, identification) of a new client, agent with Nagle on, TLS 1.3',
        unit: 'setups/s',
        value: stats(setupRates),
        baselineName: 'bare mutual-TLS handshakes to the same agents, until the first session ticket',
        baseline: stats(measured.baseline),
        extra: { medianMs: round2(percentile(setupLatencies, 50)), p90Ms: round2(percentile(setupLatencies, 90)) },
      },
      0.9,
    ),
    compare({
      scenario: 'fleet D: new client + setup + one call + close, agent with Nagle on, TLS 1.3',
      unit: 'connections/s',
      value: stats(measured.ours),
      baselineName: 'bare mutual-TLS handshakes to the same agents',
      baseline: stats(measured.baseline),
      extra: { medianMs: round2(percentile(measured.latencies, 50)), p90Ms: round2(percentile(measured.latencies, 90)) },
    }),
  ];
}
