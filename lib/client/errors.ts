import { HalibutError, PhaseTimeoutError, type CallProgress } from '../errors.js';
import type { ProbeStep } from './probe-report.js';

/** The client was closed; no further calls can be made with it. */
export class ClientClosedError extends HalibutError {
  readonly code = 'ERR_CLIENT_CLOSED';
  constructor() {
    super('The HalibutClient has been closed');
  }
}

/**
 * The caller's `AbortSignal` fired. When `requestMayHaveRun` is true the request had started to go out: Halibut has
 * no cancel message, so the agent may still be running it.
 */
export class CallAbortedError extends HalibutError {
  readonly code = 'ERR_ABORTED';
  constructor(
    /** The endpoint URL of the call. */
    readonly endpoint: string,
    /** Whether the request had started to go out (the agent may have run it). */
    readonly requestMayHaveRun: boolean,
    /** The signal's reason; kept as `cause`. */
    reason: unknown,
    /** How far the call got, when the error is what the call fails with. */
    call?: CallProgress,
  ) {
    super(
      requestMayHaveRun
        ? `The call to ${endpoint} was aborted after the request was sent; the agent may still be running it`
        : `The call to ${endpoint} was aborted before the request was sent`,
      { cause: reason, call },
    );
  }
}

/**
 * A probe's signal fired before the probe was over (for any other reason than a timeout). It is reported in the
 * probe's report, not thrown.
 */
export class ProbeAbortedError extends HalibutError {
  readonly code = 'ERR_ABORTED';
  constructor(
    /** The endpoint URL probed. */
    readonly endpoint: string,
    /** The step the probe was at. */
    readonly step: ProbeStep,
    /** The signal's reason; kept as `cause`. */
    reason: unknown,
  ) {
    super(`The probe of ${endpoint} was aborted during its ${step} step`, { cause: reason });
  }
}

/**
 * A call ran out of time: its `timeoutMs` passed, or its signal came from `AbortSignal.timeout()` (whose reason is
 * then the `cause`). Phase `call`. When `requestMayHaveRun` is true the request had started to go out: the agent
 * may still be running it.
 */
export class CallTimeoutError extends PhaseTimeoutError {
  declare readonly phase: 'call';
  constructor(
    /** The endpoint URL of the call. */
    readonly endpoint: string,
    /**
     * The call's `timeoutMs`; for a signal from `AbortSignal.timeout()`, whose limit the call cannot see, how long
     * the call had run when the signal fired.
     */
    timeoutMs: number,
    /** Whether the request had started to go out (the agent may have run it). */
    readonly requestMayHaveRun: boolean,
    options?: { cause?: unknown; call?: CallProgress | undefined },
  ) {
    super(
      'call',
      timeoutMs,
      requestMayHaveRun ? `the call to ${endpoint} had sent its request; the agent may still be running it` : `the request to ${endpoint} was never sent`,
      options,
    );
  }
}

/**
 * The error a call (or the rest of its work, such as reading a download) is stopped with: a
 * {@link CallTimeoutError} when its own limit of `ownTimeoutMs` passed or when the signal's `reason` says its time
 * ran out (`AbortSignal.timeout()`), otherwise a {@link CallAbortedError}.
 */
export function callStopped(
  endpoint: string,
  reason: unknown,
  stop: { requestStarted: boolean; elapsedMs: number; ownTimeoutMs?: number | undefined; call?: CallProgress | undefined },
): CallAbortedError | CallTimeoutError {
  const { requestStarted, call } = stop;
  if (stop.ownTimeoutMs !== undefined) return new CallTimeoutError(endpoint, stop.ownTimeoutMs, requestStarted, { call });
  if (isTimeoutReason(reason)) return new CallTimeoutError(endpoint, Math.round(stop.elapsedMs), requestStarted, { cause: reason, call });
  return new CallAbortedError(endpoint, requestStarted, reason, call);
}

/** A signal's reason that says its time ran out: `AbortSignal.timeout()`'s, or a call's own deadline. */
function isTimeoutReason(reason: unknown): boolean {
  return (reason instanceof DOMException && reason.name === 'TimeoutError') || reason instanceof CallTimeoutError;
}

/** True for an error that says a call was stopped by its caller or its time limit (not that it failed). */
export function isCallStopped(error: unknown): error is CallAbortedError | CallTimeoutError {
  return error instanceof CallAbortedError || error instanceof CallTimeoutError;
}
