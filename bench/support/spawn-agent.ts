import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Endpoint } from '../../lib/index.js';

export interface AgentProcess {
  endpoint: Endpoint;
  stop(): Promise<void>;
}

/** Starts bench/support/agent-process.ts in a child process trusting `clientThumbprint`. */
export async function spawnAgent(clientThumbprint: string): Promise<AgentProcess> {
  const script = fileURLToPath(new URL('./agent-process.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, clientThumbprint], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`agent process exited with ${code}`)));
  });
  lines.close();
  return {
    endpoint: JSON.parse(first) as Endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}
