import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../lib/index.js';

export interface Peer {
  /** The agents it runs, ready to call. */
  endpoints: Endpoint[];
  /** The raw mutual-TLS baseline server's port. */
  rawPort: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts bench/support/peer-process.ts in a child process, trusting `clientThumbprint`. `tcpNoDelay: false` keeps
 * Nagle on in its agents, as a Tentacle does (the raw baseline server keeps it off).
 */
export async function spawnPeer(clientThumbprint: string, agents = 1, options: { tcpNoDelay?: boolean } = {}): Promise<Peer> {
  const script = fileURLToPath(new URL('./peer-process.ts', import.meta.url));
  const child = spawn(process.execPath, [...(process.env['HALIBUT_BENCH_PEER_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['HALIBUT_BENCH_PEER_PROF']] : []), '--import', 'tsx', script, JSON.stringify({ trusted: clientThumbprint, agents, ...options })], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`peer process exited with ${code}`)));
  });
  lines.close();
  const info = JSON.parse(first) as { agents: string[]; thumbprint: string; raw: number };
  return {
    endpoints: info.agents.map((url) => ({ url, thumbprint: info.thumbprint })),
    rawPort: info.raw,
    pid: child.pid ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}
