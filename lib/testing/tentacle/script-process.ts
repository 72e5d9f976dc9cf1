/**
 * The script's process: started in a process group of its own so that cancelling it can kill everything it started
 * (a Tentacle kills the whole process tree), with stdout and stderr read line by line as they arrive.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { LineSplitter } from './line-splitter.js';

/**
 * How long to keep reading after the script itself has exited, while something it started in the background still
 * holds its output open. After that the output is no longer read, so a leftover daemon cannot keep the script
 * from completing.
 */
const LINGER_MS = 2000;

export interface ScriptProcessOptions {
  executable: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  onStdout: (line: string) => void;
  onStderr: (line: string) => void;
}

export interface ScriptProcess {
  readonly pid: number;
  /** The exit code once the process has exited and its output has been read; 128 + N for death by signal N. */
  readonly exited: Promise<number>;
  /**
   * True when the script exited but something it left running still held its output when reading stopped: its
   * process group may still have members.
   */
  readonly leftChildren: boolean;
  /** SIGKILLs the whole process group. Harmless when it is already gone. */
  killGroup(): void;
}

/** Starts the process; rejects (with the OS's reason) if it cannot be started at all. */
export function startScriptProcess(options: ScriptProcessOptions): Promise<ScriptProcess> {
  return new Promise((resolveStarted, rejectStarted) => {
    const child = spawn(options.executable, options.args, {
      cwd: options.cwd,
      env: options.env,
      // Its own process group (pgid = its pid), so that one kill reaches its children too.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = new LineSplitter();
    const err = new LineSplitter();
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk).forEach(options.onStdout));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk).forEach(options.onStderr));

    let leftChildren = false;
    let exitCode = 0;
    let lingerTimer: NodeJS.Timeout | undefined;
    let resolveExited: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (resolveExited = r));

    child.on('error', (error) => {
      // Only a failure to start matters here; once running, the exit is reported by 'exit'/'close'.
      if (child.pid === undefined) rejectStarted(error);
    });
    child.once('spawn', () => {
      const pid = child.pid!;
      resolveStarted({
        pid,
        exited,
        get leftChildren() {
          return leftChildren;
        },
        killGroup: () => killProcessGroup(pid),
      });
    });
    child.once('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
      lingerTimer = setTimeout(() => {
        leftChildren = true;
        child.stdout.destroy();
        child.stderr.destroy();
      }, LINGER_MS);
      lingerTimer.unref();
    });
    // 'close' comes after the exit and the end of both outputs, so every line has been seen.
    child.once('close', () => {
      if (lingerTimer !== undefined) clearTimeout(lingerTimer);
      out.end().forEach(options.onStdout);
      err.end().forEach(options.onStderr);
      resolveExited(exitCode);
    });
  });
}

/** SIGKILLs a process group, ignoring one that no longer exists (or that is no longer ours to kill). */
export function killProcessGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH' && code !== 'EPERM') throw error;
  }
}
