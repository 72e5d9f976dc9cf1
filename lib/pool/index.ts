export { ConnectionPool, type PoolOptions } from './connection-pool.js';
export type { ConnectionFactory, Lease, PoolClock, PooledConnection } from './pooled-connection.js';
export type { EndpointStats, PoolStats } from './pool-stats.js';
export { PoolClosedError, WaitQueueTimeoutError } from './errors.js';
export type { CheckOutFailureReason, ConnectionCloseReason, ConnectionEvent, PoolEvents } from './pool-events.js';
