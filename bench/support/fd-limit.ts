// The file-descriptor limit of the fleet's processes. Node cannot call setrlimit, and at start-up it already raises
// its soft limit to the hard one; what it cannot do is raise the hard limit. So every fleet process is started
// through a shell that first raises the hard limit to what the benchmark wants, where the OS allows it (as root, or
// with CAP_SYS_RESOURCE), and otherwise leaves it as it is. The limit a process ends up with is in its environment.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** `$1` the limit wanted, then the command and its arguments. */
const RAISE =
  'want=$1; shift; hard=$(ulimit -Hn); ' +
  'if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then ulimit -n "$want" 2>/dev/null; fi; ' +
  'HALIBUT_BENCH_FD_LIMIT=$(ulimit -Hn); export HALIBUT_BENCH_FD_LIMIT; exec "$@"';

/** Where the shell trick does not apply (Windows has no such limit), commands run as they are. */
const posix = process.platform !== 'win32';

/** `command args` started with the file-descriptor limit raised towards `wanted`: pass the result to spawn. */
export function withFdLimit(wanted: number, command: string, args: readonly string[]): [string, string[]] {
  return posix ? ['/bin/sh', ['-c', RAISE, 'sh', String(wanted), command, ...args]] : [command, [...args]];
}

/** The limit a process started by {@link withFdLimit} gets: at most `wanted` unless it was higher already. */
export function fdLimitFor(wanted: number): number {
  if (!posix) return Infinity;
  const [sh, args] = withFdLimit(wanted, '/bin/sh', ['-c', 'echo "$HALIBUT_BENCH_FD_LIMIT"']);
  const limit = execFileSync(sh, args, { encoding: 'utf8' }).trim();
  return limit === 'unlimited' ? Infinity : Number(limit);
}

/** How many local ports connections can come from (Linux); listeners on port 0 take theirs from the same range. */
export function ephemeralPorts(): number {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return high! - low! + 1;
  } catch {
    return Infinity;
  }
}
