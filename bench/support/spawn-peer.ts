import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../lib/index.js';
import { startChild } from './child.js';

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
  const profile = process.env['HALIBUT_BENCH_PEER_PROF'];
  const child = await startChild<{ agents: string[]; thumbprint: string; raw: number }>(process.execPath, [
    ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
    '--import',
    'tsx',
    script,
    JSON.stringify({ trusted: clientThumbprint, agents, ...options }),
  ]);
  return {
    endpoints: child.info.agents.map((url) => ({ url, thumbprint: child.info.thumbprint })),
    rawPort: child.info.raw,
    pid: child.pid,
    stop: () => child.stop(),
  };
}
