// A BullMQ worker process running script jobs through halibut-client/bullmq, for the multi-process queue tests and
// the queue benchmark. Configured by the environment (see below); says `ready` on stdout once its worker listens,
// `active <job id>` when it takes a job, and closes gracefully on SIGTERM (a SIGKILL is what the tests use to make
// it die mid-run).
import { readFileSync } from 'node:fs';
import { Worker } from 'bullmq';
import { HalibutClient, TentacleClient, loadPem } from '../../lib/index.js';
import { createScriptJobProcessor, type ScriptJobData, type ScriptJobResult } from '../../lib/bullmq/index.js';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const certificate = loadPem(readFileSync(env('WORKER_CERT')), readFileSync(env('WORKER_KEY')));
const halibut = new HalibutClient({ certificate, maxConnectionsPerEndpoint: Number(env('WORKER_MAX_PER_ENDPOINT', '4')) });
const tentacle = new TentacleClient(halibut, { poll: { minDelayMs: 2, maxDelayMs: 20 }, startWaitMs: Number(env('WORKER_START_WAIT_MS', '0')) });
const worker = new Worker<ScriptJobData, ScriptJobResult>(env('WORKER_QUEUE'), createScriptJobProcessor(tentacle, { jobLog: env('WORKER_JOB_LOG', '1') === '1' }), {
  connection: { host: '127.0.0.1', port: Number(env('WORKER_REDIS_PORT')), maxRetriesPerRequest: null },
  concurrency: Number(env('WORKER_CONCURRENCY', '8')),
  // Short, so that a job whose worker died is handed to another within seconds (the tests kill workers).
  lockDuration: Number(env('WORKER_LOCK_MS', '30000')),
  stalledInterval: Number(env('WORKER_STALLED_MS', '30000')),
  name: `worker-${process.pid}`,
});
worker.on('active', (job) => process.stdout.write(`active ${job.id}\n`));
// Redis going away (the restart test) is reported here and retried by the connection: not a reason to die.
worker.on('error', (error) => process.stderr.write(`worker error: ${error.message}\n`));
await worker.waitUntilReady();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void (async () => {
    await worker.close();
    await tentacle.close();
    process.exit(0);
  })();
});
