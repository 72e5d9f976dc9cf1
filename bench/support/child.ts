// Child processes of the benchmark: long-running ones that describe themselves in their first line of output and
// run until their stdin ends, and one-shot ones that read a JSON job from stdin and print a JSON result last.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Child<T> {
  /** What the child printed as its first line, parsed. */
  info: T;
  pid: number;
  /** Ends the child's stdin, which it takes as the signal to close down, and waits for it to exit. */
  stop(): Promise<void>;
}

/** Starts a child that prints one JSON line once it is ready and stays up until its stdin ends. */
export async function startChild<T>(command: string, args: readonly string[]): Promise<Child<T>> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${args.find((a) => a.endsWith('.ts')) ?? command} exited with ${code} before it was ready`)));
  });
  lines.close();
  return {
    info: JSON.parse(first) as T,
    pid: child.pid ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** Runs a child to completion with `input` on its stdin; resolves with its last line of output, parsed. */
export function runChild<T>(command: string, args: readonly string[], input: string): Promise<T> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stdin.end(input);
  return new Promise<T>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code !== 0) return reject(new Error(`${args.find((a) => a.endsWith('.ts')) ?? command} exited with ${code ?? signal}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? 'null') as T);
    });
  });
}
