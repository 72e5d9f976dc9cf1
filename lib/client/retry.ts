/** When a failed call may be tried again, and how often (see {@link RetryOptions}). */
import { CertificateMismatchError } from '../certificates/pinning.js';
import { PhaseTimeoutError, type Phase } from '../errors.js';
import { ControlLineError } from '../protocol/control-lines.js';
import { AgentRejectedClientError, ConnectionClosedError, NotHalibutPeerError, ProtocolError } from '../protocol/errors.js';
import { ConnectError, HostNotFoundError, NotTlsError, ProxyAuthenticationError, ProxyError, TlsHandshakeError } from '../transport/errors.js';

/**
 * How connection attempts are retried. Defaults follow Halibut: 5 attempts, 1 s apart, within 5 minutes.
 *
 * Only failures before the request began are retried, as Halibut decides: once a request byte has been written the
 * agent may have run it, so nothing after that point is ever retried.
 */
export interface RetryOptions {
  /** Attempts in all, the first included. 1 disables retrying. Default 5. */
  attempts?: number;
  /** Wait before the first retry. Default 1 000 ms. */
  delayMs?: number;
  /** Each later wait is multiplied by this. Default 1 (a fixed interval, as Halibut). */
  factor?: number;
  /** Upper bound on a single wait. Default 30 000 ms. */
  maxDelayMs?: number;
  /** Multiply each wait by a random factor between 1 and 2, so that many clients do not retry in step. Default false. */
  jitter?: boolean;
  /** No attempt starts after this long from the first. Default 300 000 ms. */
  maxRetryTimeMs?: number;
  /**
   * Narrows the library's rule: consulted only for failures the library would retry; `false` reports the failure at
   * once. E.g. a command-line tool that should say "the agent does not trust us" without retrying first. Default:
   * retry all of them.
   */
  retryOn?: (error: Error) => boolean;
}

/** {@link RetryOptions} with every default applied. */
export type ResolvedRetryOptions = Required<RetryOptions>;

/** The retry defaults, as Halibut retries: 5 attempts, 1 s apart, within 5 minutes. */
export const RETRY_DEFAULTS: ResolvedRetryOptions = {
  attempts: 5,
  delayMs: 1000,
  factor: 1,
  maxDelayMs: 30_000,
  jitter: false,
  maxRetryTimeMs: 300_000,
  retryOn: () => true,
};

export function resolveRetry(base: ResolvedRetryOptions, override: RetryOptions | false | undefined): ResolvedRetryOptions {
  if (override === false) return { ...base, attempts: 1 };
  const out = { ...base };
  for (const [name, value] of Object.entries(override ?? {}) as Array<[keyof RetryOptions, unknown]>) {
    if (value === undefined) continue;
    if (name === 'retryOn') {
      if (typeof value !== 'function') throw new TypeError(`retry.retryOn must be a function, got ${JSON.stringify(value)}`);
      out.retryOn = value as (error: Error) => boolean;
      continue;
    }
    if (name === 'jitter') {
      if (typeof value !== 'boolean') throw new TypeError(`retry.jitter must be a boolean, got ${JSON.stringify(value)}`);
      out.jitter = value;
      continue;
    }
    const min = name === 'attempts' || name === 'factor' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new TypeError(`retry.${name} must be a number ≥ ${min}, got ${JSON.stringify(value)}`);
    out[name] = value;
  }
  return out;
}

/** Phases whose timeout happens before the request begins, and that another attempt may pass. */
const RETRYABLE_TIMEOUTS: ReadonlySet<Phase> = new Set<Phase>(['connect', 'proxy', 'handshake', 'identification', 'heartbeat']);

/** Phases of setting up a connection after TCP: repeated timeouts there make the endpoint's pool suspect. */
const INITIALIZATION_TIMEOUTS: ReadonlySet<Phase> = new Set<Phase>(['handshake', 'identification']);

/** True for failures that happened while connecting and that trying again could cure. */
export function isRetryableBeforeRequest(error: unknown): boolean {
  // Facts that will not change by waiting: a wrong certificate, a name that does not resolve, a peer that is not
  // Halibut at all.
  if (error instanceof CertificateMismatchError || error instanceof HostNotFoundError || error instanceof NotTlsError) return false;
  if (error instanceof NotHalibutPeerError || error instanceof ControlLineError) return false;
  if (error instanceof ConnectError || error instanceof TlsHandshakeError) return true;
  // A proxy that wants other credentials, or forbids the destination, will say the same again.
  if (error instanceof ProxyAuthenticationError) return false;
  if (error instanceof ProxyError) return error.status !== 403 && error.status !== 405;
  // A Halibut listener that does not trust us looks like a reset after identification; Halibut retries it too.
  if (error instanceof AgentRejectedClientError || error instanceof ConnectionClosedError) return true;
  if (error instanceof PhaseTimeoutError) return RETRYABLE_TIMEOUTS.has(error.phase);
  if (error instanceof ProtocolError) return true;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code);
}

/** Failures of connection initialisation (after TCP): repeated ones make the endpoint's pool suspect. */
export function isInitializationFailure(error: unknown): boolean {
  return (
    error instanceof AgentRejectedClientError ||
    error instanceof ConnectionClosedError ||
    error instanceof TlsHandshakeError ||
    (error instanceof PhaseTimeoutError && INITIALIZATION_TIMEOUTS.has(error.phase))
  );
}
