import type { PoolLimit } from '../diagnostics/channels.js';
import { HalibutError } from '../errors.js';

/** Waited for a free connection longer than `waitQueueTimeoutMs`. Nothing was sent. */
export class WaitQueueTimeoutError extends HalibutError {
  readonly code = 'ERR_WAIT_QUEUE_TIMEOUT';
  constructor(
    /** The endpoint URL. */
    readonly endpoint: string,
    /** The wait that ran out, in milliseconds. */
    readonly timeoutMs: number,
    /**
     * The limit that held the call when the time ran out: every connection to the endpoint was busy
     * (`maxConnectionsPerEndpoint`), or every connection of the client was (`maxConnections`).
     */
    readonly limit: PoolLimit = 'maxConnectionsPerEndpoint',
  ) {
    super(
      limit === 'maxConnections'
        ? `No connection to ${endpoint} could be opened within ${timeoutMs} ms (the client's maxConnections are all busy; raise maxConnections or waitQueueTimeoutMs)`
        : `No connection to ${endpoint} became free within ${timeoutMs} ms (all connections are busy; raise maxConnectionsPerEndpoint or waitQueueTimeoutMs)`,
    );
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
