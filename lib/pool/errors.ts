import { HalibutError } from '../errors.js';

/** Waited in an endpoint's queue for a free connection longer than `waitQueueTimeoutMs`. Nothing was sent. */
export class WaitQueueTimeoutError extends HalibutError {
  readonly code = 'ERR_WAIT_QUEUE_TIMEOUT';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The wait that ran out, in milliseconds. */
    readonly timeoutMs: number,
  ) {
    super(`No connection to ${endpoint} became free within ${timeoutMs} ms (all connections are busy; raise maxConnectionsPerEndpoint or waitQueueTimeoutMs)`);
  }
}

/** The pool (its client) was closed while the call waited for, or was about to get, a connection. */
export class PoolClosedError extends HalibutError {
  readonly code = 'ERR_POOL_CLOSED';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
  ) {
    super(`The client was closed; no connection to ${endpoint} can be used`);
  }
}
