// Runs the `halibut` command line as a real child process (through tsx, so no build is needed), with an environment
// cleaned of anything that would change its behaviour, and writes test identities where it can read them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateIdentity } from '../../lib/index.js';
import { onCleanup } from './cleanup.js';
import { lineQueue } from './line-queue.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'lib', 'cli', 'main.ts');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment the CLI runs in: ours without HALIBUT_*, proxy variables or DEBUG, plus `extra`. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(HALIBUT_|DEBUG$|NODE_TEST|NODE_OPTIONS$)|_proxy$|_PROXY$/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

function spawnCli(args: readonly string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  return child;
}

function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `halibut ARGS…` to completion. */
export function halibut(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return collect(spawnCli(args, env));
}

/** A `halibut` process that keeps running (e.g. `agent`), read line by line. */
export interface RunningCli {
  child: ChildProcess;
  /** The next line of standard output. */
  nextLine(): Promise<string>;
  /** Everything, once it has exited. */
  result: Promise<CliResult>;
}

export function startHalibut(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawnCli(args, env);
  const result = collect(child);
  return {
    child,
    result,
    nextLine: lineQueue(child.stdout!, result.then((r) => `halibut exited (${r.code ?? r.signal ?? ''}) before printing a line: ${r.stderr}`)),
  };
}

/** A temporary directory removed when the spec file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'halibut-cli-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes an identity as `NAME.crt` and `NAME.key` in `dir`; returns the paths. */
export function writeIdentity(dir: string, name: string, identity: CertificateIdentity): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, identity.cert);
  writeFileSync(key, identity.key, { mode: 0o600 });
  return { cert, key };
}

/**
 * Our identity written to `dir` and given through the environment, as CI jobs give it, with `pin` as
 * HALIBUT_THUMBPRINT.
 */
export function clientEnv(dir: string, client: CertificateIdentity, pin: string): Record<string, string> {
  const files = writeIdentity(dir, 'client', client);
  return { HALIBUT_CERT: files.cert, HALIBUT_KEY: files.key, HALIBUT_THUMBPRINT: pin };
}

/** Reads standard output line by line until `done` accepts one; resolves to the lines read, that one included. */
export async function linesUntil(running: RunningCli, done: (line: string) => boolean): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = await running.nextLine();
    lines.push(line);
    if (done(line)) return lines;
  }
}
