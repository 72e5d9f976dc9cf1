/**
 * The script's process: started in a process group of its own, with stdout and stderr read line by line as they
 * arrive. Like a Tentacle, the script counts as running until its output is closed, so a background process that
 * inherited stdout keeps it running and its late output is delivered.
 *
 * Killing it kills the whole tree, as a Tentacle does, including what escaped the process group (`setsid`,
 * double forks): every process the script started carries a marker variable in its environment, and on Linux the
 * agent finds them all through `/proc` (by marker, by process group, and by parent chain).
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { LineSplitter } from './line-splitter.js';

/** The environment variable that marks a script's processes; its value is `<agent id>:<script number>`. */
export const SCRIPT_MARKER_VARIABLE = 'EmbeddedTentacleScript';

export interface ScriptProcessOptions {
  executable: string;
  args: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The marker this script's processes carry (see {@link SCRIPT_MARKER_VARIABLE}). */
  marker: string;
  onStdout: (line: string) => void;
  onStderr: (line: string) => void;
}

export interface ScriptProcess {
  readonly pid: number;
  /** The exit code once the process has exited and its output is closed; 128 + N for death by signal N. */
  readonly exited: Promise<number>;
  /** SIGKILLs the whole process tree. Harmless when it is already gone. */
  killTree(): Promise<void>;
}

/** Starts the process; rejects (with the OS's reason) if it cannot be started at all. */
export function startScriptProcess(options: ScriptProcessOptions): Promise<ScriptProcess> {
  return new Promise((resolveStarted, rejectStarted) => {
    const child = spawn(options.executable, options.args, {
      cwd: options.cwd,
      env: { ...options.env, [SCRIPT_MARKER_VARIABLE]: options.marker },
      // Its own process group (pgid = its pid), so that one kill reaches most of its children at once.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = new LineSplitter();
    const err = new LineSplitter();
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk).forEach(options.onStdout));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk).forEach(options.onStderr));

    let exitCode = 0;
    let resolveExited: (code: number) => void = () => undefined;
    const exited = new Promise<number>((r) => (resolveExited = r));

    child.on('error', (error) => {
      // Only a failure to start matters here; once running, the exit is reported by 'exit'/'close'.
      if (child.pid === undefined) rejectStarted(error);
    });
    // Once the shell has exited (and been reaped), its pid may be reused by an unrelated process: from then on its
    // processes are found by their marker only.
    let shellExited = false;
    child.once('spawn', () => {
      const pid = child.pid!;
      resolveStarted({ pid, exited, killTree: () => killMarked(() => (shellExited ? undefined : pid), (m) => m === options.marker) });
    });
    child.once('exit', (code, signal) => {
      shellExited = true;
      exitCode = code ?? 128 + (signal === null ? 0 : constants.signals[signal]);
    });
    // 'close' comes after the exit and the end of both outputs (whoever held them), so every line has been seen.
    child.once('close', () => {
      out.end().forEach(options.onStdout);
      err.end().forEach(options.onStderr);
      resolveExited(exitCode);
    });
  });
}

/** SIGKILLs one process or (negative) process group, ignoring one that is gone or not ours. */
function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ESRCH' && code !== 'EPERM') throw error;
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  marker: string | undefined;
}

/** Every process we can read in /proc (none where there is no /proc). */
async function processTable(): Promise<ProcInfo[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const rows = await Promise.all(
    names
      .filter((n) => /^\d+$/.test(n))
      .map(async (n): Promise<ProcInfo | undefined> => {
        try {
          const stat = await readFile(`/proc/${n}/stat`, 'latin1');
          // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          // A zombie is dead already (only its parent's wait is missing) and cannot be killed again.
          if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
          const environ = await readFile(`/proc/${n}/environ`, 'latin1').catch(() => '');
          const prefix = `${SCRIPT_MARKER_VARIABLE}=`;
          const entry = environ.split('\0').find((e) => e.startsWith(prefix));
          return { pid: Number(n), ppid: Number(fields[1]), pgid: Number(fields[2]), marker: entry?.slice(prefix.length) };
        } catch {
          return undefined;
        }
      }),
  );
  return rows.filter((r): r is ProcInfo => r !== undefined);
}

/** The processes of a script tree: its process group, its descendants, and whatever carries `matches` marker. */
function membersOf(table: readonly ProcInfo[], root: number | undefined, matches: (marker: string) => boolean): number[] {
  const found = new Set<number>();
  for (const p of table) {
    if ((root !== undefined && (p.pid === root || p.pgid === root)) || (p.marker !== undefined && matches(p.marker))) found.add(p.pid);
  }
  // Descendants by parent chain (one that cleared its environment and left the group is still a child).
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  found.delete(process.pid);
  return [...found];
}

/**
 * Kills every process of the scripts whose marker satisfies `matches` (and, while `root()` names the script's shell,
 * that process's group and descendants), repeating until none is left, so that one forking at the moment is caught
 * next round. `root` is asked each round: once the shell is reaped its pid may belong to someone else.
 */
export async function killMarked(root: () => number | undefined, matches: (marker: string) => boolean): Promise<void> {
  const killGroup = (): void => {
    const pgid = root();
    if (pgid !== undefined) kill(-pgid);
  };
  killGroup();
  for (let round = 0; round < 20; round++) {
    const members = membersOf(await processTable(), root(), matches);
    if (members.length === 0) return;
    for (const pid of members) kill(pid);
    killGroup();
  }
}
