/**
 * The root of every error this library throws on purpose.
 *
 * Each subclass carries a stable {@link HalibutError.code} so callers can branch on it without parsing messages,
 * and keeps the underlying failure as `cause`.
 */
export abstract class HalibutError extends Error {
  /** A stable, machine-readable identifier, e.g. `ERR_CERTIFICATE_MISMATCH`. */
  abstract readonly code: string;

  /**
   * Set on the error a call finally fails with: `connecting` when no attempt got past opening a connection (the
   * agent cannot have run the request), `unknown` once the request had started to go out (it may have run).
   */
  connectionState?: 'connecting' | 'unknown';
  /** Set on the error a call finally fails with: how many connection attempts were made. */
  attempts?: number;
  /** Set on the error a call finally fails with: milliseconds from the start of the call. */
  elapsedMs?: number;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A read or write saw no progress within its phase's time limit. */
export class PhaseTimeoutError extends HalibutError {
  readonly code = 'ERR_TIMEOUT';
  constructor(
    /** Which phase timed out, e.g. `connect`, `handshake`, `identification`, `response`, `read`. */
    readonly phase: string,
    /** The configured limit in milliseconds. */
    readonly timeoutMs: number,
    detail?: string,
  ) {
    super(`Timed out after ${timeoutMs} ms in phase '${phase}'${detail === undefined ? '' : `: ${detail}`}`);
  }
}
