import { HalibutError, PhaseTimeoutError, type CallContext } from '../errors.js';

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
    call?: CallContext,
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
    options?: { cause?: unknown; call?: CallContext | undefined },
  ) {
    super(
      'call',
      timeoutMs,
      requestMayHaveRun ? `the call to ${endpoint} had sent its request; the agent may still be running it` : `the request to ${endpoint} was never sent`,
      options,
    );
  }
}
