// halibut-client/bullmq across processes, with real parts only: a redis-server on loopback, three worker processes
// (spec/support/bullmq-worker.ts), thirty embedded Tentacle agents in this process over real TLS running real bash.
// Three hundred jobs each run once on their agent; a worker killed (SIGKILL) while its script runs hands the job to
// another, which attaches to the same ticket and delivers the rest of the output, the script still started once;
// Redis stopped and started again between jobs loses nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { addScriptJob, scriptJobTicket, type ScriptJobData, type ScriptJobProgress, type ScriptJobResult } from '../lib/bullmq/index.js';
import type { StartedTentacleAgent } from '../lib/testing/index.js';
import { startWorkerProcesses, type WorkerProcesses } from './support/bullmq-workers.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';
import { fileRedis, redisSkipReason } from './support/spec-redis.js';
import { startTestTentacle } from './support/tentacle-agent.js';

closeEverythingAfterwards();
const skip = redisSkipReason();
const ids = await identities();

/** Thirty agents, started once for the file. */
let agents: StartedTentacleAgent[] | undefined;
async function fleet(): Promise<StartedTentacleAgent[]> {
  agents ??= await Promise.all(Array.from({ length: 30 }, () => startTestTentacle({ tcpNoDelay: true })));
  return agents;
}

// Persistent, so that the restart test can show that a clean shutdown keeps every job.
const server = fileRedis({ persistent: true });

let queues = 0;
async function setUp(workerSettings: { lockMs?: number; stalledMs?: number; startWaitMs?: number } = {}): Promise<{ queue: Queue<ScriptJobData, ScriptJobResult>; events: QueueEvents; workers: WorkerProcesses }> {
  const { connection, port } = await server();
  const name = `fleet-${++queues}`;
  const queue = new Queue<ScriptJobData, ScriptJobResult>(name, { connection });
  onCleanup(() => queue.close());
  const events = new QueueEvents(name, { connection });
  onCleanup(() => events.close());
  await events.waitUntilReady();
  const workers = await startWorkerProcesses({ queue: name, redisPort: port, identity: ids.client, count: 3, concurrency: 10, ...workerSettings });
  onCleanup(() => workers.close());
  return { queue, events, workers };
}

const logOf = async (queue: Queue, job: Job): Promise<string[]> => (await queue.getJobLogs(job.id!)).logs;
/** The script's own stdout lines in a job's log (rows are `sequence source text`). */
const stdoutOf = (log: readonly string[]): string[] => log.map((row) => /^\d+ stdout (.*)$/.exec(row)?.[1]).filter((t): t is string => t !== undefined);

describe('script jobs over three worker processes and thirty agents', { skip, timeout: 120_000 }, () => {
  it('runs three hundred jobs: every one completes, every script started exactly once on its agent, every output complete', async () => {
    const agents = await fleet();
    // Starts that wait on the agent for the script to finish: a short script then takes one round trip.
    const { queue, events, workers } = await setUp({ startWaitMs: 2000 });
    queue.setMaxListeners(400); // a listener per job awaited
    const startsBefore = agents.reduce((n, a) => n + a.tentacle.scriptsStarted, 0);
    const jobs = await Promise.all(
      Array.from({ length: 300 }, (_, i) => addScriptJob(queue, { target: { name: `agent-${i % 30}`, ...agents[i % 30]!.endpoint }, script: { body: 'echo "job $1 on $2"; echo done', arguments: [String(i), `agent-${i % 30}`] } })),
    );
    const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(events)));
    for (const [i, job] of jobs.entries()) {
      const ticket = scriptJobTicket(job);
      const result = results[i]!;
      assert.equal(result.exitCode, 0, `job ${i}`);
      assert.equal(result.ticket, ticket);
      assert.equal(agents[i % 30]!.tentacle.startsOf(ticket), 1, `job ${i} started once on its agent`);
      assert.deepEqual(stdoutOf(await logOf(queue, job)), [`job ${i} on agent-${i % 30}`, 'done'], `job ${i}'s output`);
    }
    assert.equal(agents.reduce((n, a) => n + a.tentacle.scriptsStarted, 0) - startsBefore, 300, 'no script started on another agent or twice');
    const counts = await queue.getJobCounts('completed', 'failed', 'active', 'wait');
    assert.deepEqual(counts, { completed: 300, failed: 0, active: 0, wait: 0 });
    const taken = workers.workers.map((w) => w.taken.length);
    assert.equal(taken.reduce((a, b) => a + b, 0), 300, `each job taken once (by worker: ${taken.join(', ')})`);
  });

  it('hands the job of a worker killed mid-script to another, which attaches to the same ticket and delivers the rest; the script started once', async () => {
    const agents = await fleet();
    const agent = agents[7]!;
    // Locks of two seconds, checked every second: a dead worker's job is taken again within seconds.
    const { queue, events, workers } = await setUp({ lockMs: 2000, stalledMs: 1000 });
    const dir = mkdtempSync(join(tmpdir(), 'bullmq-kill-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const go = join(dir, 'go');
    // The script prints, then waits for the test's file (bounded, so that nothing outlives a failed test for long).
    const body = `echo before; for _ in $(seq 1 1200); do [ -e '${go}' ] && break; sleep 0.05; done; [ -e '${go}' ] || exit 99; echo after-1; echo after-2`;
    const progressed = new Promise<void>((resolve) => {
      events.on('progress', ({ data }) => {
        if ((data as ScriptJobProgress).line?.text === 'before') resolve();
      });
    });
    const job = await addScriptJob(queue, { target: agent.endpoint, script: { body } });
    const ticket = scriptJobTicket(job);
    const first = await workers.takerOf(job.id!);
    await progressed; // the first worker has handled "before": the script is running on the agent
    assert.equal(agent.tentacle.startsOf(ticket), 1);
    await first.kill('SIGKILL');
    writeFileSync(go, '');

    const result = await job.waitUntilFinished(events);
    const second = await workers.takerOf(job.id!, first);
    assert.notEqual(second.pid, first.pid, 'another worker finished the job');
    assert.equal(result.resumed, true, 'the second attempt attached to the running script');
    assert.equal(result.attempts, 2);
    assert.equal(result.exitCode, 0);
    assert.equal(agent.tentacle.startsOf(ticket), 1, 'the script started once');
    assert.deepEqual(stdoutOf(await logOf(queue, job)), ['before', 'after-1', 'after-2'], 'every line once: before from the first worker, the rest from the second');
  });

  it('loses nothing when Redis is stopped and started again between jobs', async () => {
    const agents = await fleet();
    const { queue, events } = await setUp({ startWaitMs: 2000 });
    const add = (i: number) => addScriptJob(queue, { target: agents[i % 30]!.endpoint, script: { body: `echo "round $1"`, arguments: [String(i)] } });
    const before = await Promise.all(Array.from({ length: 10 }, (_, i) => add(i)));
    await Promise.all(before.map((job) => job.waitUntilFinished(events)));

    const redisServer = await server();
    await redisServer.stop();
    await redisServer.start();
    await events.waitUntilReady();

    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => add(10 + i)));
    const results = await Promise.all(after.map((job) => job.waitUntilFinished(events)));
    assert.ok(results.every((r) => r.exitCode === 0));
    for (const [i, job] of [...before, ...after].entries()) {
      const stored = await queue.getJob(job.id!);
      assert.ok(stored !== undefined, `job ${i} is still there`);
      assert.equal(await stored.getState(), 'completed', `job ${i}`);
      assert.equal(stored.returnvalue.ticket, scriptJobTicket(job));
      assert.deepEqual(stdoutOf(await logOf(queue, job)), [`round ${i}`], `job ${i}'s log`);
      assert.equal(agents[i % 30]!.tentacle.startsOf(scriptJobTicket(job)), 1, `job ${i} ran once`);
    }
  });
});
