// halibut-client/bullmq in one process: a real redis-server on loopback, BullMQ's own Queue and Worker, embedded
// Tentacle agents over real TLS running real bash. What a job returns, reports and logs; a failing script fails its
// job without another try; an attempt that finds the end recorded returns it instead of running the script again;
// V1-only agents; cancelling a job; bad job data. Many workers in many processes: bullmq-fleet.spec.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Queue, QueueEvents, Worker, type Job } from 'bullmq';
import type { LogLine, TentacleClientOptions } from '../lib/index.js';
import {
  addScriptJob,
  createScriptJobProcessor,
  scriptJobTicket,
  InvalidScriptJobError,
  type ScriptJobData,
  type ScriptJobProcessorOptions,
  type ScriptJobProgress,
  type ScriptJobResult,
} from '../lib/bullmq/index.js';
import type { StartedTentacleAgent } from '../lib/testing/index.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { identities } from './support/identities.js';
import { fileRedis, redisSkipReason } from './support/spec-redis.js';
import { startTestTentacle, testTentacleClients } from './support/tentacle-agent.js';

closeEverythingAfterwards();
const ids = await identities();
const FAST: TentacleClientOptions = { poll: { minDelayMs: 2, maxDelayMs: 10 }, startWaitMs: 0 };

const skip = redisSkipReason();
const server = fileRedis();
const tentacle = startTestTentacle;

let queues = 0;
/** A queue of its own, a worker running the processor on it, and the events to await jobs with. */
async function queueWithWorker(options: ScriptJobProcessorOptions = {}) {
  const { connection } = await server();
  const name = `spec-${++queues}`;
  const client = testTentacleClients(ids, FAST).tentacle;
  onCleanup(() => client.close());
  const queue = new Queue<ScriptJobData, ScriptJobResult>(name, { connection });
  onCleanup(() => queue.close());
  const events = new QueueEvents(name, { connection });
  onCleanup(() => events.close());
  const worker = new Worker<ScriptJobData, ScriptJobResult>(name, createScriptJobProcessor(client, options), { connection, concurrency: 4 });
  onCleanup(() => worker.close());
  await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  return { name, queue, events, worker, client };
}

const target = (agent: StartedTentacleAgent) => ({ name: 'web-01', ...agent.endpoint });

/** The job's log rows. */
async function logOf(queue: Queue, job: Job): Promise<string[]> {
  return (await queue.getJobLogs(job.id!)).logs;
}

describe('scriptJobTicket', () => {
  it('is readable for plain names, a digest otherwise, always a valid ticket, and different for every job', () => {
    assert.equal(scriptJobTicket({ queueName: 'deploys', id: '42', timestamp: 1_700_000_000_000 }), 'bullmq.deploys.42.loyw3v28');
    assert.equal(scriptJobTicket({ queueName: 'deploys', id: '42', timestamp: 1_700_000_000_000 }, 'prod-eu'), 'prod-eu.deploys.42.loyw3v28');
    const hashed = scriptJobTicket({ queueName: 'Deploys', id: '42', timestamp: 1 });
    assert.match(hashed, /^bullmq-[0-9a-f]{40}$/, 'upper case would meet lower case on the agent');
    assert.notEqual(hashed, scriptJobTicket({ queueName: 'deploys', id: '42', timestamp: 1 }));
    assert.match(scriptJobTicket({ queueName: 'q', id: 'x'.repeat(200), timestamp: 1 }), /^bullmq-[0-9a-f]{40}$/, 'too long');
    assert.match(scriptJobTicket({ queueName: 'q:with:colons', id: 'a/b', timestamp: 1 }), /^bullmq-[0-9a-f]{40}$/);
    assert.notEqual(scriptJobTicket({ queueName: 'a-b', id: 'c', timestamp: 1 }), scriptJobTicket({ queueName: 'a', id: 'b-c', timestamp: 1 }));
    assert.notEqual(scriptJobTicket({ queueName: 'q', id: '1', timestamp: 1 }), scriptJobTicket({ queueName: 'q', id: '1', timestamp: 2 }), 'an id used again');
    assert.throws(() => scriptJobTicket({ queueName: 'q', id: undefined, timestamp: 1 }), TypeError);
    assert.throws(() => scriptJobTicket({ queueName: 'q', id: '1', timestamp: 1 }, 'Upper'), TypeError);
    assert.throws(() => scriptJobTicket({ queueName: 'q', id: '1', timestamp: 1 }, '.dot'), TypeError);
  });
});

describe('script jobs on BullMQ', { skip }, () => {
  it('runs the script once under the job’s ticket: the result is the script’s, every line is in the log and the progress', async () => {
    const agent = await tentacle();
    const { queue, events } = await queueWithWorker();
    const progress: ScriptJobProgress[] = [];
    events.on('progress', ({ data }) => progress.push(data as ScriptJobProgress));
    const job = await addScriptJob(queue, { target: target(agent), script: { body: 'echo "hello $1"; echo second >&2; cat note.txt', arguments: ['world'], files: [{ name: 'note.txt', text: 'from a file' }] } });
    const ticket = scriptJobTicket(job);
    const result = await job.waitUntilFinished(events);
    assert.equal(result.ticket, ticket);
    assert.equal(result.exitCode, 0);
    assert.equal(result.service, 'IScriptServiceV2');
    assert.equal(result.attempts, 1);
    assert.equal(result.resumed, false);
    assert.equal(agent.tentacle.startsOf(ticket), 1);
    const log = await logOf(queue, job);
    assert.equal(log.length, result.lineCount);
    assert.ok(log.some((r) => /^\d+ stdout hello world$/.test(r)), log.join('\n'));
    assert.ok(log.some((r) => /^\d+ stderr second$/.test(r)), log.join('\n'));
    assert.ok(log.some((r) => /^\d+ stdout from a file$/.test(r)), log.join('\n'));
    const final = (await queue.getJob(job.id!))!.progress as ScriptJobProgress;
    assert.equal(final.phase, 'ended');
    assert.deepEqual(final.end, { exitCode: 0, cancelled: false });
    assert.equal(final.lineCount, result.lineCount);
    await eventually(() => assert.ok(progress.some((p) => p.line?.text === 'hello world'), 'progress events carry the lines'));
  });

  it('fails the job at once when the script exits with another code, keeping the end in its progress; or completes it when told to', async () => {
    const agent = await tentacle();
    const failing = await queueWithWorker();
    const job = await addScriptJob(failing.queue, { target: target(agent), script: { body: 'echo bad; exit 3' } });
    await assert.rejects(job.waitUntilFinished(failing.events), /exited with code 3/);
    const failed = (await failing.queue.getJob(job.id!))!;
    assert.equal(failed.attemptsMade, 1, 'not tried again, though three attempts were allowed');
    assert.deepEqual((failed.progress as ScriptJobProgress).end, { exitCode: 3, cancelled: false });
    assert.equal(agent.tentacle.startsOf(scriptJobTicket(job)), 1);

    const completing = await queueWithWorker({ nonZeroExit: 'complete' });
    const other = await addScriptJob(completing.queue, { target: target(agent), script: { body: 'exit 5' } });
    assert.equal((await other.waitUntilFinished(completing.events)).exitCode, 5);
  });

  it('returns the end an earlier attempt recorded when the agent no longer knows the ticket, without running the script again', async () => {
    const agent = await tentacle();
    const { queue, events, worker } = await queueWithWorker();
    await worker.pause();
    const job = await addScriptJob(queue, { target: target(agent), script: { body: 'echo never' } });
    const ticket = scriptJobTicket(job);
    // As an attempt leaves it when its worker dies after the end was recorded and the workspace removed.
    const recorded: ScriptJobProgress = { ticket, phase: 'ended', service: 'IScriptServiceV2', sequence: 6, lineCount: 4, attempts: 1, end: { exitCode: 0, cancelled: false } };
    await job.updateProgress(recorded);
    await worker.resume();
    const result = await job.waitUntilFinished(events);
    assert.deepEqual(result, { ticket, service: 'IScriptServiceV2', exitCode: 0, cancelled: false, lineCount: 4, attempts: 1, resumed: true, workspaceCleanedUp: true });
    assert.equal(agent.tentacle.startsOf(ticket), 0, 'nothing started');
  });

  it('attaches to a script the agent already runs under the job’s ticket and logs only the lines after the last one handled', async () => {
    const agent = await tentacle();
    const { queue, events, worker, client } = await queueWithWorker();
    await worker.pause();
    const job = await addScriptJob(queue, { target: target(agent), script: { body: 'echo one; echo two; echo three' } });
    const ticket = scriptJobTicket(job);
    // An earlier attempt started the script and handled its lines up to "one", then its worker died.
    const lines: LogLine[] = [];
    const earlier = client.runScript(agent.endpoint, { body: 'echo one; echo two; echo three', ticket, beforeCleanup: () => Promise.reject(new Error('the worker died')) });
    await assert.rejects(async () => {
      for await (const line of earlier) lines.push(line);
    }, /the worker died/);
    const one = lines.find((l) => l.text === 'one')!;
    await job.updateProgress({ ticket, phase: 'running', service: 'IScriptServiceV2', sequence: one.sequence, lineCount: 1, attempts: 1 } satisfies ScriptJobProgress);
    await worker.resume();
    const result = await job.waitUntilFinished(events);
    assert.equal(result.resumed, true);
    assert.equal(result.attempts, 2);
    const log = await logOf(queue, job);
    assert.ok(!log.some((r) => r.endsWith(' one')), 'the handled line is not logged again');
    assert.ok(log.some((r) => r.endsWith(' stdout two')) && log.some((r) => r.endsWith(' stdout three')), log.join('\n'));
    assert.equal(result.lineCount, 1 + log.length);
    assert.equal(agent.tentacle.startsOf(ticket), 1, 'the script ran once');
  });

  it('runs a job on a V1-only agent, and refuses to run it again after an attempt that may have started it, unless told to', async () => {
    const agent = await tentacle({ scriptServiceV2: false });
    const strict = await queueWithWorker();
    const first = await addScriptJob(strict.queue, { target: target(agent), script: { body: 'echo v1' } });
    const result = await first.waitUntilFinished(strict.events);
    assert.equal(result.service, 'IScriptService');
    assert.notEqual(result.ticket, scriptJobTicket(first), 'a V1 agent chooses its own ticket');

    await strict.worker.pause();
    const retried = await addScriptJob(strict.queue, { target: target(agent), script: { body: 'echo v1 again' } });
    await retried.updateProgress({ ticket: scriptJobTicket(retried), phase: 'starting', service: 'IScriptService', sequence: -1, lineCount: 0, attempts: 1 } satisfies ScriptJobProgress);
    await strict.worker.resume();
    await assert.rejects(retried.waitUntilFinished(strict.events), /offers only the V1 script service/);
    assert.equal((await strict.queue.getJob(retried.id!))!.attemptsMade, 1);
    assert.equal(agent.tentacle.scriptsStarted, 1, 'not run again');

    const lenient = await queueWithWorker({ v1Retry: 'run-again' });
    await lenient.worker.pause();
    const again = await addScriptJob(lenient.queue, { target: target(agent), script: { body: 'echo v1 again' } });
    await again.updateProgress({ ticket: scriptJobTicket(again), phase: 'starting', service: 'IScriptService', sequence: -1, lineCount: 0, attempts: 1 } satisfies ScriptJobProgress);
    await lenient.worker.resume();
    assert.equal((await again.waitUntilFinished(lenient.events)).attempts, 2);
    assert.equal(agent.tentacle.scriptsStarted, 2);
  });

  it('cancels the script on its agent when the job is cancelled, and fails the job without another try', async () => {
    const agent = await tentacle();
    const { queue, events, worker } = await queueWithWorker();
    const job = await addScriptJob(queue, { target: target(agent), script: { body: 'echo started; exec sleep 300' } });
    await eventually(async () => assert.ok((await logOf(queue, job)).some((r) => r.endsWith(' stdout started')), 'the script has started'), 30_000);
    assert.equal(worker.cancelJob(job.id!, 'operator said stop'), true);
    await assert.rejects(job.waitUntilFinished(events), /cancelled on its agent: the job was cancelled \(operator said stop\)/);
    const failed = (await queue.getJob(job.id!))!;
    assert.equal(failed.attemptsMade, 1);
    assert.equal((failed.progress as ScriptJobProgress).end?.cancelled, true);
  });

  it('fails a job whose data is not a script job’s at once, and refuses such data before it reaches Redis', async () => {
    const { queue, events } = await queueWithWorker();
    await assert.rejects(addScriptJob(queue, { target: { url: 'https://x:10933/' }, script: { body: 'true' } } as unknown as ScriptJobData), InvalidScriptJobError);
    const job = await queue.add('script', { script: { body: 'true' } } as unknown as ScriptJobData, { attempts: 3 });
    await assert.rejects(job.waitUntilFinished(events), /Not a script job: target must be/);
    assert.equal((await queue.getJob(job.id!))!.attemptsMade, 1);
  });
});
