export { ConnectionPool, type ConnectionFactory, type EndpointStats, type Lease, type PoolOptions } from './connection-pool.js';
export { PoolClosedError, WaitQueueTimeoutError } from './errors.js';
export type { CheckOutFailureReason, ConnectionCloseReason, ConnectionEvent, PoolEvents } from './pool-events.js';
