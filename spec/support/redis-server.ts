// A real redis-server (Debian's) on a free loopback port, for the queue tests and the queue benchmark: started with
// no persistence unless asked, waited for until it says it is ready (never a fixed sleep), stopped with SIGTERM,
// which makes Redis shut down as SHUTDOWN does (flushing its append-only file when it keeps one). No node:test here,
// so that the benchmark can use it too.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The redis-server to run: HALIBUT_REDIS_SERVER, else the one on the PATH; undefined when there is none. */
export function redisServerBinary(): string | undefined {
  const binary = process.env['HALIBUT_REDIS_SERVER'] ?? 'redis-server';
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? binary : undefined;
}

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** BullMQ's `connection` option for this server (workers need `maxRetriesPerRequest: null`). */
  readonly connection: { host: string; port: number; maxRetriesPerRequest: null };
  /** Stops the server (SIGTERM: a clean shutdown) and waits until it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory, with what it persisted. */
  start(): Promise<void>;
  /** Stops it and removes its directory. Idempotent. */
  close(): Promise<void>;
}

export interface RedisOptions {
  /** Keep an append-only file, so that a restart keeps every write. Default false: nothing persisted. */
  persistent?: boolean;
}

/** Starts redis-server on 127.0.0.1 and a free port. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  if (binary === undefined) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const dir = mkdtempSync(join(tmpdir(), 'halibut-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes'];
    args.push('--appendonly', options.persistent === true ? 'yes' : 'no', '--appendfsync', 'always', '--maxmemory-policy', 'noeviction');
    const started = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) {
          started.stdout?.off('data', onData);
          started.stdout?.resume();
          resolve();
        }
      };
      started.stdout?.on('data', onData);
      started.stderr?.resume();
      started.once('exit', (code, signal) => reject(new Error(`redis-server exited before it was ready (${code ?? signal}): ${output.slice(-500)}`)));
      started.once('error', reject);
    });
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    await exited;
  };

  // A port found free can be taken before the server binds it: try another.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      await stop();
      if (attempt >= 5) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }

  let closed: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    connection: { host: '127.0.0.1', port, maxRetriesPerRequest: null },
    stop,
    start: launch,
    close: () =>
      (closed ??= (async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
