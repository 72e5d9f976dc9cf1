/**
 * Exit codes scripts can rely on. `run` is the exception: it exits with the script's own code (see docs/cli.md).
 */
export const ExitCode = {
  /** The command did what was asked (for `probe`: every check passed). */
  ok: 0,
  /** The operation failed: the agent could not be reached, did not trust us, a call failed, a file was unreadable… */
  failed: 1,
  /** The command line was wrong: unknown command or option, missing argument, malformed value. Nothing was tried. */
  usage: 2,
  /** Interrupted by Ctrl-C (SIGINT), as shells report it: 128 + 2. */
  interrupted: 130,
  /** Standard output was closed by its reader (e.g. `| head`), as shells report SIGPIPE: 128 + 13. */
  stdoutClosed: 141,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
