/**
 * The root of every error this library throws on purpose.
 *
 * Each subclass carries a stable {@link HalibutError.code} so callers can branch on it without parsing messages,
 * and keeps the underlying failure as `cause`.
 */

/**
 * Every `code` an error of this library can have; each error class's `code` is typed as its own literal (or, for a
 * class with subclasses, as the codes of its family). docs/errors.md describes each one.
 */
export type ErrorCode =
  // Certificates
  | 'ERR_CERTIFICATE_MISMATCH'
  | 'ERR_CERTIFICATE_KEY_MISMATCH'
  | 'ERR_CERTIFICATE_PASSWORD'
  | 'ERR_CERTIFICATE_FORMAT'
  | 'ERR_INVALID_THUMBPRINT'
  // Transport
  | 'ERR_CONNECT'
  | 'ERR_HOST_NOT_FOUND'
  | 'ERR_TLS_HANDSHAKE'
  | 'ERR_NOT_TLS'
  | 'ERR_PROXY'
  | 'ERR_PROXY_AUTHENTICATION'
  | 'ERR_PROXY_REFUSED'
  | 'ERR_PROXY_PROTOCOL'
  // Protocol
  | 'ERR_PROTOCOL'
  | 'ERR_MESSAGE_FORMAT'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_CONNECTION_CLOSED'
  | 'ERR_DATA_STREAM'
  | 'ERR_NOT_HALIBUT'
  | 'ERR_AGENT_REJECTED_CLIENT'
  | 'ERR_CONTROL_LINE'
  | 'ERR_TIMEOUT'
  // Remote (the agent answered with an error)
  | 'ERR_REMOTE'
  | 'ERR_SERVICE_NOT_FOUND'
  | 'ERR_METHOD_NOT_FOUND'
  | 'ERR_AMBIGUOUS_METHOD_MATCH'
  | 'ERR_SERVICE_INVOCATION'
  // Pool and client
  | 'ERR_WAIT_QUEUE_TIMEOUT'
  | 'ERR_POOL_CLOSED'
  | 'ERR_CLIENT_CLOSED'
  | 'ERR_ABORTED'
  // Contracts and Tentacle operations
  | 'ERR_CONTRACT'
  | 'ERR_REMOTE_FILE_NOT_FOUND'
  | 'ERR_UPLOAD_VERIFICATION'
  | 'ERR_SCRIPT_TIMEOUT'
  | 'ERR_UNSUPPORTED_SCRIPT_SERVICE'
  | 'ERR_SCRIPT_START_UNCERTAIN'
  | 'ERR_SCRIPT_CANCEL_TIMEOUT'
  | 'ERR_INVALID_TARGET'
  | 'ERR_DUPLICATE_TARGET_NAME'
  | 'ERR_SCRIPT_NOT_FOUND'
  | 'ERR_SCRIPT_TICKET_UNSUPPORTED'
  // The command-line tool
  | 'ERR_CLI_USAGE'
  | 'ERR_CLI_CHECK_FAILED'
  | 'ERR_CLI_TARGETS_FILE';

/**
 * Where a time limit ran out ({@link PhaseTimeoutError.phase}). On the client, in the order a call meets them:
 * `connect` (TCP), `proxy` (the tunnel), `handshake` (TLS), `identification` (`MX-CLIENT` → `MX-SERVER`),
 * `heartbeat` (NEXT/PROCEED on a pooled connection), `write` (the peer stopped reading the request),
 * `response` (the first byte of the answer), `read` (the rest of it, and data streams) and `call` (the whole call's
 * `timeoutMs`). The embedded agent adds `request` (a client that never sends its request) and `next` (a client that
 * never says NEXT or END). `quiet` is internal: a short check for trailing bytes that never reaches a caller.
 */
export type Phase = 'connect' | 'proxy' | 'handshake' | 'identification' | 'heartbeat' | 'write' | 'response' | 'read' | 'call' | 'request' | 'next' | 'quiet';

/** How far a call got: what the error a call finally fails with says about it. */
export interface CallProgress {
  /** Connection attempts made, the first included. */
  attempts: number;
  /** Milliseconds from the start of the call to its failure. */
  elapsedMs: number;
  /** Whether the request had started to go out: if so, the agent may have run it. */
  requestStarted: boolean;
}

/** Options every {@link HalibutError} takes. */
export interface HalibutErrorOptions {
  /** The failure underneath, kept as `cause`. */
  cause?: unknown;
  /** Given when the error is what a call fails with: its attempts, time and whether the request started. */
  call?: CallProgress | undefined;
}

/** Base class of every error this library throws on purpose. */
export abstract class HalibutError extends Error {
  /** A stable, machine-readable identifier, e.g. `ERR_CERTIFICATE_MISMATCH`. */
  abstract readonly code: ErrorCode;

  /**
   * Set on the error a call fails with: `connecting` when no attempt got past opening a connection (the agent
   * cannot have run the request), `unknown` once the request had started to go out (it may have run).
   */
  readonly connectionState?: 'connecting' | 'unknown';
  /** Set on the error a call fails with: how many connection attempts were made. */
  readonly attempts?: number;
  /** Set on the error a call fails with: milliseconds from the start of the call. */
  readonly elapsedMs?: number;

  constructor(message: string, options?: HalibutErrorOptions) {
    super(options?.call === undefined ? message : message + describeCall(options.call), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.call !== undefined) defineCall(this, options.call);
  }
}

/** What a call's context adds to the end of its error's message. */
function describeCall(call: CallProgress): string {
  if (call.requestStarted) return ' [the request had started: the agent may have run it]';
  const attempts = call.attempts === 1 ? '1 attempt' : `${call.attempts} attempts`;
  return ` [${attempts} over ${(call.elapsedMs / 1000).toFixed(1)} s; the request never reached the agent]`;
}

function defineCall(error: HalibutError, call: CallProgress): void {
  const fields = { connectionState: call.requestStarted ? 'unknown' : 'connecting', attempts: call.attempts, elapsedMs: Math.round(call.elapsedMs) };
  for (const [key, value] of Object.entries(fields)) Object.defineProperty(error, key, { value, enumerable: true, writable: false, configurable: true });
}

/**
 * The error a call fails with, made from a failure raised below the call (while connecting, in the pool, on the
 * wire), where nobody knew the call's attempts or time: a new error of the same class with the same fields, cause
 * and stack, whose message and call fields say how far the call got.
 *
 * A copy rather than the same error edited: the failure itself was already handed out (to the pool's and the
 * client's event listeners, to `debug`), and an error must not change under whoever holds it.
 */
export function inCall<E extends HalibutError>(error: E, call: CallProgress): E {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as E;
  for (const key of Reflect.ownKeys(error)) Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(error, key)!);
  const message = error.message + describeCall(call);
  Object.defineProperty(copy, 'message', { value: message, enumerable: false, writable: true, configurable: true });
  const stack = error.stack;
  if (stack !== undefined) {
    // The stack starts with "Name: message"; the rest (where the failure was raised) stays as it was.
    const head = `${error.name}: ${error.message}`;
    const rebuilt = stack.startsWith(head) ? `${error.name}: ${message}${stack.slice(head.length)}` : stack;
    Object.defineProperty(copy, 'stack', { value: rebuilt, enumerable: false, writable: true, configurable: true });
  }
  defineCall(copy, call);
  return copy;
}

/** A read or write saw no progress within its phase's time limit, or a call ran out of its `timeoutMs`. */
export class PhaseTimeoutError extends HalibutError {
  readonly code = 'ERR_TIMEOUT';
  constructor(
    /** Which phase timed out. */
    readonly phase: Phase,
    /** The configured limit in milliseconds. */
    readonly timeoutMs: number,
    detail?: string,
    options?: HalibutErrorOptions,
  ) {
    super(`Timed out after ${timeoutMs} ms in phase '${phase}'${detail === undefined ? '' : `: ${detail}`}`, options);
  }
}
