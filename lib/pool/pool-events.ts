/**
 * What the pool reports, modelled on MongoDB's connection-monitoring events: every connection's life and every
 * checkout, with reasons and durations. For observability only; failures reach callers through their promises.
 */

import type { ConnectionCloseReason } from '../diagnostics/channels.js';

/** Why a connection was closed: defined with the diagnostics channels, which carry it too. */
export type { ConnectionCloseReason };

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
