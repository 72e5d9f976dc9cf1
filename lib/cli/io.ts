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

/** The real process: stdout, stderr, process.env, and SIGINT/SIGTERM turned into an abort. */
export function processIo(): { io: CliIo; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second Ctrl-C while we are cleaning up means "now": leave at once with the conventional code.
    if (controller.signal.aborted) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    controller.abort(new Error(`Interrupted (${signal})`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIo = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    stderrIsTty: process.stderr.isTTY,
    interrupted: controller.signal,
  };
  return {
    io,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
