/** Errors raised by the command-line tool itself (the library's own errors pass through unchanged). */
import { HalibutError } from '../index.js';

/** The command line is wrong. Exit code 2; the message says what to change. */
export class UsageError extends HalibutError {
  readonly code = 'ERR_CLI_USAGE';
  constructor(
    message: string,
    /** The command whose `--help` to point at, e.g. `probe` or `cert new`. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/**
 * A check the user asked for failed without the library raising anything, e.g. the agent's page is not Halibut's.
 * Exit code 1.
 */
export class CheckFailedError extends HalibutError {
  readonly code = 'ERR_CLI_CHECK_FAILED';
  constructor(
    message: string,
    /** The likely fix, in one sentence. */
    readonly hint: string,
  ) {
    super(message);
  }
}
