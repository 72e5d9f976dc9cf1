// Starts spec/support/renegotiating-server.py (Debian's python3-openssl) on 127.0.0.1 with a free port: a TLS 1.2
// Halibut peer that renegotiates, presenting a second certificate, or asks to and never completes.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateIdentity } from '../../lib/index.js';
import { onCleanup } from './cleanup.js';
import { lineQueue } from './line-queue.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('./renegotiating-server.py', import.meta.url).pathname;

/** Why the server cannot run here, or undefined. Under CI a missing python3-openssl is a failure, not a skip. */
export function renegotiationUnavailable(): string | undefined {
  if (spawnSync(PYTHON, ['-c', 'import OpenSSL']).status === 0) return undefined;
  if (process.env['CI'] === 'true') throw new Error('python3-openssl is not installed; .ci/run must install it');
  return 'python3-openssl is not installed (apt-get install python3-openssl)';
}

export interface RenegotiatingServer {
  port: number;
  /** The next line the server reports (an event such as "renegotiated"). */
  nextEvent(): Promise<string>;
}

export async function startRenegotiatingServer(mode: 'swap' | 'stall', first: CertificateIdentity, second: CertificateIdentity): Promise<RenegotiatingServer> {
  const dir = mkdtempSync(join(tmpdir(), 'halibut-reneg-'));
  const files = [first, second].flatMap((identity, i) => {
    const cert = join(dir, `${i}.crt`);
    const key = join(dir, `${i}.key`);
    writeFileSync(cert, identity.cert);
    writeFileSync(key, identity.key, { mode: 0o600 });
    return [cert, key];
  });
  const child = spawn(PYTHON, [SCRIPT, mode, ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<string>((resolve) => child.once('close', () => resolve(`the renegotiating server exited: ${stderr}`)));
  const nextEvent = lineQueue(child.stdout, exited);
  const port = Number(/^port (\d+)$/.exec(await nextEvent())?.[1]);
  return { port, nextEvent };
}
