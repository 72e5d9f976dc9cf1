/** Where a command's output goes and what it may read from its surroundings; replaceable so tests can capture it. */

/** The outside world as a command sees it. */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Writes to standard error. */
  err(text: string): void;
  /** Environment variables (for HALIBUT_* defaults). */
  env: Readonly<Record<string, string | undefined>>;
  /** True when standard error is a terminal (progress bars go there). */
  stderrIsTty: boolean;
  /** Fires on the first Ctrl-C (SIGINT) or SIGTERM; commands that run for a while stop when it does. */
  interrupted: AbortSignal;
}

/**
 * The real process: stdout, stderr, process.env, and SIGINT/SIGTERM turned into an abort. Standard output closing
 * under us (`halibut run … | head -1`) is an interruption too, as SIGPIPE would be for a shell command: a running
 * script is cancelled and cleaned up, nothing more is written there, and `stdoutClosed()` says so.
 */
export function processIo(): { io: CliIo; dispose: () => void; stdoutClosed: () => boolean } {
  const controller = new AbortController();
  let stdoutClosed = false;
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
    stdoutClosed = true;
    if (!controller.signal.aborted) controller.abort(new Error('Standard output was closed'));
  };
  process.stdout.on('error', onStdoutError);
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second Ctrl-C while we are cleaning up means "now": leave at once with the conventional code.
    if (controller.signal.aborted) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    controller.abort(new Error(`Interrupted (${signal})`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIo = {
    out: (text) => {
      if (!stdoutClosed) process.stdout.write(text);
    },
    err: (text) => process.stderr.write(text),
    env: process.env,
    stderrIsTty: process.stderr.isTTY,
    interrupted: controller.signal,
  };
  return {
    io,
    stdoutClosed: () => stdoutClosed,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
