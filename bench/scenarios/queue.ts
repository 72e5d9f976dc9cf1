// 7: script jobs through BullMQ (halibut-client/bullmq) against the same scripts run from one process without the
// queue. The agents run in a process of their own; Redis is a real redis-server on loopback, started here (the
// scenario reports itself skipped when there is none); the workers are separate Node processes. The scripts are
// `echo`, so that what is measured is the queue and the calls around a script, not the script.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { HalibutClient, TentacleClient, type TentacleClientOptions } from '../../lib/index.js';
import { addScriptJob, type ScriptJobData, type ScriptJobResult } from '../../lib/bullmq/index.js';
import { startWorkerProcesses } from '../../spec/support/bullmq-workers.js';
import { redisServerBinary, startRedis } from '../../spec/support/redis-server.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { stats } from '../support/stats.js';

/** Scripts in flight per worker process, and in the baseline's one process. */
const CONCURRENCY = 8;
/** As the worker processes set their TentacleClient: a short script finishes within its start. */
const TENTACLE_OPTIONS: TentacleClientOptions = { poll: { minDelayMs: 2, maxDelayMs: 20 }, startWaitMs: 2000 };

export async function queue(ctx: BenchContext): Promise<ScenarioResult[]> {
  if (redisServerBinary() === undefined) {
    const nothing = { median: 0, min: 0, max: 0 };
    return [{ scenario: 'queue: skipped (redis-server is not installed)', unit: 'jobs/s', value: nothing, extra: { skipped: 'redis-server not installed' } }];
  }
  const agentCount = ctx.quick ? 4 : 12;
  const jobs = ctx.quick ? 48 : 360;
  const rounds = ctx.quick ? 1 : 3;
  const fleet = await startFleet(ctx.identity.thumbprint, agentCount);
  const redis = await startRedis();
  try {
    const direct: number[] = [];
    const oneWorker: number[] = [];
    const threeWorkers: number[] = [];
    const halibut = new HalibutClient({ certificate: ctx.identity });
    const tentacle = new TentacleClient(halibut, TENTACLE_OPTIONS);
    try {
      await runDirect(tentacle, fleet.endpoints, agentCount * 2); // warm-up: connections and capabilities
      // Each round measures all three, so that a machine whose load changes over the run weighs on each alike.
      for (let r = 0; r < rounds; r++) {
        direct.push(await runDirect(tentacle, fleet.endpoints, jobs));
        oneWorker.push(await runQueued(ctx, redis.port, redis.connection, fleet.endpoints, 1, jobs, `bench-1-${r}`));
        threeWorkers.push(await runQueued(ctx, redis.port, redis.connection, fleet.endpoints, 3, jobs, `bench-3-${r}`));
      }
    } finally {
      await tentacle.close();
    }
    const baseline = stats(direct);
    const extra = { jobs, agents: agentCount, concurrencyPerProcess: CONCURRENCY };
    return [
      compare({ scenario: 'queue: script jobs, 1 worker process', unit: 'jobs/s', value: stats(oneWorker), baselineName: `runScript from one process, ${CONCURRENCY} at once`, baseline, extra }),
      compare({ scenario: 'queue: script jobs, 3 worker processes', unit: 'jobs/s', value: stats(threeWorkers), baselineName: `runScript from one process, ${CONCURRENCY} at once`, baseline, extra }),
    ];
  } finally {
    await redis.close();
    await fleet.stop();
  }
}

/** Runs `jobs` echo scripts over the agents, CONCURRENCY at a time, reading every line; returns scripts per second. */
async function runDirect(tentacle: TentacleClient, endpoints: readonly Endpoint[], jobs: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs) {
        const i = next++;
        const run = tentacle.runScript(endpoints[i % endpoints.length]!, { body: 'echo "job $1"', arguments: [String(i)] });
        let lines = 0;
        for await (const line of run) lines += line.text.length >= 0 ? 1 : 0;
        const result = await run;
        if (result.exitCode !== 0 || lines !== result.lineCount) throw new Error(`script ${i} failed`);
      }
    }),
  );
  return jobs / ((performance.now() - start) / 1000);
}

/** The same scripts as jobs, through `workers` worker processes; returns jobs per second from the first add to the last completion. */
async function runQueued(
  ctx: BenchContext,
  redisPort: number,
  connection: { host: string; port: number; maxRetriesPerRequest: null },
  endpoints: readonly Endpoint[],
  workers: number,
  jobs: number,
  name: string,
): Promise<number> {
  const queue = new Queue<ScriptJobData, ScriptJobResult>(name, { connection });
  queue.setMaxListeners(jobs + 10);
  const events = new QueueEvents(name, { connection });
  const processes = await startWorkerProcesses({ queue: name, redisPort, identity: ctx.identity, count: workers, concurrency: CONCURRENCY, startWaitMs: 2000 });
  try {
    await events.waitUntilReady();
    const start = performance.now();
    const added = await Promise.all(
      Array.from({ length: jobs }, (_, i) => addScriptJob(queue, { target: endpoints[i % endpoints.length]!, script: { body: 'echo "job $1"', arguments: [String(i)] } })),
    );
    const results = await Promise.all(added.map((job) => job.waitUntilFinished(events)));
    const perSecond = jobs / ((performance.now() - start) / 1000);
    if (results.some((r) => r.exitCode !== 0)) throw new Error('a job failed');
    return perSecond;
  } finally {
    await processes.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** An agent of the fleet: a script job's target. */
interface Endpoint {
  url: string;
  thumbprint: string;
}

interface Fleet {
  endpoints: Endpoint[];
  stop(): Promise<void>;
}

async function startFleet(trusted: string, agents: number): Promise<Fleet> {
  const script = fileURLToPath(new URL('../support/tentacle-fleet-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify({ trusted, agents })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), once(child, 'exit').then(([code]) => Promise.reject(new Error(`the agents' process exited with ${String(code)}`)))])) as [string];
  lines.close();
  const { endpoints } = JSON.parse(first) as { endpoints: Endpoint[] };
  return {
    endpoints,
    stop: async () => {
      const exited = once(child, 'exit');
      child.stdin.end();
      await exited;
    },
  };
}
