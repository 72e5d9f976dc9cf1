/**
 * What the pool reports, modelled on MongoDB's connection-monitoring events: every connection's life and every
 * checkout, with reasons and durations. For observability only; failures reach callers through their promises.
 */

/** Why a connection was closed. */
export type ConnectionCloseReason =
  /** Idle longer than `maxIdleTimeMs`. */
  | 'idle'
  /** More idle connections than `maxIdlePerEndpoint`. */
  | 'excess'
  /** A pooled connection failed NEXT/PROCEED, or the agent closed it while idle. */
  | 'stale'
  /** The endpoint's pool was cleared after it was created. */
  | 'cleared'
  /** An error (protocol, I/O, timeout) happened on it. */
  | 'error'
  /** The call using it was aborted. */
  | 'aborted'
  /** The client was closed. */
  | 'poolClosed';

/** Why a checkout failed. */
export type CheckOutFailureReason = 'timeout' | 'connectionError' | 'poolClosed' | 'aborted';

export interface ConnectionEvent {
  /** The endpoint URL. */
  endpoint: string;
  connectionId: number;
}

export interface PoolEvents {
  connectionCreated: [event: ConnectionEvent];
  /** Established: TCP, TLS, pin check and identification done. */
  connectionReady: [event: ConnectionEvent & { durationMs: number }];
  connectionClosed: [event: ConnectionEvent & { reason: ConnectionCloseReason; error?: Error }];
  connectionCheckOutStarted: [event: { endpoint: string }];
  connectionCheckedOut: [event: ConnectionEvent & { durationMs: number; reused: boolean }];
  connectionCheckOutFailed: [event: { endpoint: string; reason: CheckOutFailureReason; durationMs: number; error: Error }];
  connectionCheckedIn: [event: ConnectionEvent];
  poolCleared: [event: { endpoint: string; generation: number }];
}

export type PoolEmit = <K extends keyof PoolEvents>(event: K, ...args: PoolEvents[K]) => void;
