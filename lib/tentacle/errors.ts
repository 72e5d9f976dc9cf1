import { HalibutError } from '../errors.js';

/** `downloadFile` asked for a file the agent does not have. Nothing was written locally. */
export class RemoteFileNotFoundError extends HalibutError {
  readonly code = 'ERR_REMOTE_FILE_NOT_FOUND';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The path asked for, as given. */
    readonly remotePath: string,
  ) {
    super(`The agent at ${endpoint} has no file '${remotePath}'`);
  }
}

/** What the agent says it saved differs from what was sent: the file on the agent cannot be trusted. */
export class UploadVerificationError extends HalibutError {
  readonly code = 'ERR_UPLOAD_VERIFICATION';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The path uploaded to, as given. */
    readonly remotePath: string,
    /** SHA-1 and length of the bytes sent. */
    readonly sent: {
      /** Lowercase hex SHA-1. */
      sha1: string;
      /** Bytes. */
      length: number;
    },
    /** SHA-1 and length the agent reported. */
    readonly reported: {
      /** Lowercase hex SHA-1, or `null` when the agent reported none. */
      sha1: string | null;
      /** Bytes. */
      length: number;
    },
  ) {
    super(
      `The upload of '${remotePath}' to ${endpoint} does not match what was sent: sent ${sent.length} bytes with SHA-1 ${sent.sha1}, ` +
        `the agent reports ${reported.length} bytes with SHA-1 ${reported.sha1 ?? '(none)'}`,
    );
  }
}

/** A script ran longer than its `timeoutMs`; it was cancelled on the agent. */
export class ScriptTimeoutError extends HalibutError {
  readonly code = 'ERR_SCRIPT_TIMEOUT';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The run's `timeoutMs`. */
    readonly timeoutMs: number,
    /** The exit code the cancelled script reported, when the agent confirmed it ended. */
    readonly exitCode: number | undefined,
  ) {
    super(`The script on ${endpoint} did not finish within ${timeoutMs} ms and was cancelled${exitCode === undefined ? '' : ` (exit code ${exitCode})`}`);
  }
}

/** The agent offers no script service this library can drive (a Kubernetes agent). */
export class UnsupportedScriptServiceError extends HalibutError {
  readonly code = 'ERR_UNSUPPORTED_SCRIPT_SERVICE';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The capabilities the agent listed. */
    readonly capabilities: readonly string[],
  ) {
    super(`The agent at ${endpoint} offers no script service runScript supports (it lists: ${capabilities.join(', ') || 'nothing'})`);
  }
}

/**
 * A V1 StartScript failed after the request went out. V1 tickets are chosen by the agent, so the script may be
 * running there with a ticket we never learned; V1 starts are never retried, as that could run it twice.
 */
export class ScriptStartUncertainError extends HalibutError {
  readonly code = 'ERR_SCRIPT_START_UNCERTAIN';
  constructor(endpoint: string, cause: unknown) {
    super(
      `Starting the script on ${endpoint} (IScriptService, V1) failed after the request was sent: the script may be running there; ` +
        `it was not started again because V1 starts are not safe to repeat`,
      { cause },
    );
  }
}

/** A cancelled script was still not reported complete by the agent when the time allowed for cancelling ran out. */
export class ScriptCancelTimeoutError extends HalibutError {
  readonly code = 'ERR_SCRIPT_CANCEL_TIMEOUT';
  constructor(endpoint: string, timeoutMs: number) {
    super(`The script on ${endpoint} was cancelled but the agent did not report it complete within ${timeoutMs} ms`);
  }
}

/**
 * A target given to `runScriptOnMany` is malformed (not `{ name?, url, thumbprint }`, a bad URL or thumbprint, or a
 * name that is empty or holds control characters). Nothing was started on any target.
 */
export class InvalidTargetError extends HalibutError {
  readonly code = 'ERR_INVALID_TARGET';
  constructor(
    /** The target's position in the list, from 0. */
    readonly index: number,
    /** What is wrong with it. */
    readonly problem: string,
    cause?: unknown,
  ) {
    super(`Target ${index} of the list is not valid: ${problem}`, { cause });
  }
}

/**
 * Two targets given to `runScriptOnMany` have the same name, given or defaulted to the URL's `host:port`. Names
 * label every event and outcome, so they must tell the targets apart. Nothing was started on any target.
 */
export class DuplicateTargetNameError extends HalibutError {
  readonly code = 'ERR_DUPLICATE_TARGET_NAME';
  constructor(
    /** The name used twice. */
    readonly targetName: string,
    /** The positions in the list (from 0) of the first target with that name and of the next. */
    readonly indexes: readonly [first: number, second: number],
  ) {
    super(`Targets ${indexes[0]} and ${indexes[1]} of the list are both named '${targetName}': give each target a name of its own`);
  }
}

/**
 * `attachScript` was given a ticket the agent does not know: no script was ever started with it, or it finished and
 * its workspace was cleaned up (CompleteScript), or the agent lost it. Nothing was started.
 */
export class ScriptNotFoundError extends HalibutError {
  readonly code = 'ERR_SCRIPT_NOT_FOUND';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The ticket asked for. */
    readonly ticket: string,
  ) {
    super(
      `The agent at ${endpoint} knows no script with ticket '${ticket}': it was never started there, or it finished and was cleaned up`,
    );
  }
}

/**
 * A caller-chosen ticket needs the V2 script service (`IScriptServiceV2`), where the client names the script; a V1
 * agent chooses its own tickets, so the run was not started.
 */
export class ScriptTicketUnsupportedError extends HalibutError {
  readonly code = 'ERR_SCRIPT_TICKET_UNSUPPORTED';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The ticket asked for. */
    readonly ticket: string,
  ) {
    super(
      `The agent at ${endpoint} offers only the V1 script service, which chooses its own tickets: the script was not started with ticket '${ticket}'`,
    );
  }
}
