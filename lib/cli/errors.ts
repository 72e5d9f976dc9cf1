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

/**
 * A targets file (`--targets FILE`) that cannot be used as it is. Exit code 2, like any mistake on the command line:
 * the whole file is checked before any agent is contacted, so nothing was tried.
 */
export class TargetsFileError extends HalibutError {
  readonly code = 'ERR_CLI_TARGETS_FILE';
  constructor(
    /** The file, as given on the command line. */
    readonly file: string,
    /** The line at fault, counted from 1; undefined when the fault is the whole file's (it lists no target). */
    readonly line: number | undefined,
    /** What is wrong, e.g. `expected 3 fields (name url thumbprint), found 2`. */
    readonly problem: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem}`);
  }
}
