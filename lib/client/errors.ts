import { HalibutError } from '../errors.js';

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
    /** The endpoint URL. */
    readonly endpoint: string,
    /** True when the request had started to go out, so the agent may have run it. */
    readonly requestMayHaveRun: boolean,
    reason: unknown,
  ) {
    super(
      requestMayHaveRun
        ? `The call to ${endpoint} was aborted after the request was sent; the agent may still be running it`
        : `The call to ${endpoint} was aborted before the request was sent`,
      { cause: reason },
    );
  }
}
