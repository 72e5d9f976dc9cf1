// 6: many endpoints, one pooled idle connection each: what each costs the client, and how long calling them all
// takes with 64 calls in flight. Measured in a fresh child process (bench/support/scale-process.ts).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchContext, ScenarioResult } from '../support/context.js';

export async function scale(ctx: BenchContext): Promise<ScenarioResult[]> {
  const script = fileURLToPath(new URL('../support/scale-process.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...(ctx.quick ? ['--quick'] : [])], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '[]') as ScenarioResult[];
}
