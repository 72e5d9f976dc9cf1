/** Snapshots of the pool, for `HalibutClient.stats()`. */

/** A snapshot of one endpoint's connections (see `HalibutClient.stats(endpoint)`). */
export interface EndpointStats {
  /** All connections: idle, in use and being opened. */
  open: number;
  /** Open and waiting in the pool for a call. */
  idle: number;
  /** Carrying a call. */
  inUse: number;
  /** Being opened (TCP, TLS, identification). */
  connecting: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

/**
 * A snapshot of a client's whole pool, every endpoint together (see `HalibutClient.stats()`). `open` is what
 * `maxConnections` limits.
 */
export interface PoolStats extends EndpointStats {
  /**
   * Endpoints the pool keeps a record for: those with connections or waiting calls, and those left with neither
   * less than `maxIdleTimeMs` ago.
   */
  endpoints: number;
  /** Idle connections closed so far to make room, under `maxConnections`, for a call to another endpoint. */
  evicted: number;
}
