// Worker processes (spec/support/bullmq-worker.ts) for the multi-process queue tests and the queue benchmark: each
// a separate Node process with the client identity, started in parallel and awaited until it says `ready`. Which
// jobs each took is read from its output, so that a test can kill the one running a given job. No node:test here.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CertificateIdentity } from '../../lib/index.js';

const SCRIPT = fileURLToPath(new URL('./bullmq-worker.ts', import.meta.url));

export interface WorkerProcess {
  readonly pid: number;
  /** Job ids this worker has taken, in order. */
  readonly taken: readonly string[];
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` and waits until the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface WorkerProcesses {
  readonly workers: readonly WorkerProcess[];
  /** A worker that takes `jobId` (has taken it, or takes it later), other than `besides`. */
  takerOf(jobId: string, besides?: WorkerProcess): Promise<WorkerProcess>;
  /** Stops every worker still running (SIGTERM: a graceful close) and removes the identity files. */
  close(): Promise<void>;
}

export interface WorkerSettings {
  queue: string;
  redisPort: number;
  identity: CertificateIdentity;
  count: number;
  concurrency?: number;
  /** BullMQ's lockDuration and stalledInterval, in ms. */
  lockMs?: number;
  stalledMs?: number;
  jobLog?: boolean;
  maxConnectionsPerEndpoint?: number;
  /** The TentacleClient's startWaitMs: how long a start waits on the agent for a short script to finish. Default 0. */
  startWaitMs?: number;
}

export async function startWorkerProcesses(settings: WorkerSettings): Promise<WorkerProcesses> {
  const dir = mkdtempSync(join(tmpdir(), 'halibut-workers-'));
  writeFileSync(join(dir, 'client.crt'), settings.identity.cert);
  writeFileSync(join(dir, 'client.key'), settings.identity.key, { mode: 0o600 });
  const env = {
    ...process.env,
    WORKER_CERT: join(dir, 'client.crt'),
    WORKER_KEY: join(dir, 'client.key'),
    WORKER_QUEUE: settings.queue,
    WORKER_REDIS_PORT: String(settings.redisPort),
    WORKER_CONCURRENCY: String(settings.concurrency ?? 8),
    WORKER_LOCK_MS: String(settings.lockMs ?? 30_000),
    WORKER_STALLED_MS: String(settings.stalledMs ?? 30_000),
    WORKER_JOB_LOG: settings.jobLog === false ? '0' : '1',
    WORKER_MAX_PER_ENDPOINT: String(settings.maxConnectionsPerEndpoint ?? 4),
    WORKER_START_WAIT_MS: String(settings.startWaitMs ?? 0),
  };
  const takes = new EventEmitter();
  const children: ChildProcess[] = [];

  const start = async (): Promise<WorkerProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    const taken: string[] = [];
    const handle: WorkerProcess = {
      pid: child.pid!,
      taken,
      exited,
      kill: async (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line === 'ready') resolve();
        const id = /^active (.+)$/.exec(line)?.[1];
        if (id !== undefined) {
          taken.push(id);
          takes.emit(id, handle);
        }
      });
      void exited.then((why) => reject(new Error(`a worker process exited before it was ready (${why})`)));
    });
    await ready;
    return handle;
  };

  let workers: WorkerProcess[];
  try {
    workers = await Promise.all(Array.from({ length: settings.count }, start));
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  takes.setMaxListeners(0);
  return {
    workers,
    takerOf: async (jobId, besides) => {
      const known = workers.find((w) => w !== besides && w.taken.includes(jobId));
      if (known !== undefined) return known;
      for (;;) {
        const [worker] = (await once(takes, jobId)) as [WorkerProcess];
        if (worker !== besides) return worker;
      }
    },
    close: async () => {
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
