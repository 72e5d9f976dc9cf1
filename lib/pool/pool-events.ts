/**
 * What the pool reports, modelled on MongoDB's connection-monitoring events: every connection's life and every
 * checkout, with reasons and durations. For observability only; failures reach callers through their promises.
 */

import type { ConnectionCloseReason } from '../diagnostics/channels.js';

/** Why a connection was closed: defined with the diagnostics channels, which carry it too. */
export type { ConnectionCloseReason };

/** Why a checkout failed. */
export type CheckOutFailureReason =
  /** Waited longer than `waitQueueTimeoutMs` for a free connection. */
  | 'timeout'
  /** Opening a new connection failed. */
  | 'connectionError'
  /** The client was closed. */
  | 'poolClosed'
  /** The caller's signal aborted. */
  | 'aborted';

/** What every connection event carries. */
export interface ConnectionEvent {
  /** The endpoint URL. */
  endpoint: string;
  /** Unique in the process (counted from 1), so that events about one connection can be matched. */
  connectionId: number;
}

/**
 * The pool's events, by name, with their payloads: subscribe with `client.on(name, listener)`. Durations are in ms.
 *
 * Modelled on MongoDB's connection-monitoring events: every connection's life and every checkout, with reasons and
 * durations. For observability only; failures reach callers through their promises.
 */
export interface PoolEvents {
  /** A new connection was opened (emitted together with `connectionReady`). */
  connectionCreated: [event: ConnectionEvent];
  /** Established: TCP, TLS, pin check and identification done. */
  connectionReady: [
    event: ConnectionEvent & {
      /** From the start of the dial to identification done. */
      durationMs: number;
    },
  ];
  /** A connection was closed and left the pool. */
  connectionClosed: [
    event: ConnectionEvent & {
      /** Why it was closed. */
      reason: ConnectionCloseReason;
      /** The error that closed it, for `stale`, `error` and `aborted`. */
      error?: Error;
    },
  ];
  /** A call asked for a connection. */
  connectionCheckOutStarted: [
    event: {
      /** The endpoint URL. */
      endpoint: string;
    },
  ];
  /** A call got a connection. */
  connectionCheckedOut: [
    event: ConnectionEvent & {
      /** From `connectionCheckOutStarted`, including any wait and any new connection's setup. */
      durationMs: number;
      /** True when an idle connection was reused, false when one was opened for the call. */
      reused: boolean;
    },
  ];
  /** A call could not get a connection. */
  connectionCheckOutFailed: [
    event: {
      /** The endpoint URL. */
      endpoint: string;
      /** Why it failed. */
      reason: CheckOutFailureReason;
      /** From `connectionCheckOutStarted`. */
      durationMs: number;
      /** The error the checkout failed with. */
      error: Error;
    },
  ];
  /** A call gave its connection back to the pool for reuse. */
  connectionCheckedIn: [event: ConnectionEvent];
  /** The endpoint's idle connections were closed and its in-use ones will not be reused. */
  poolCleared: [
    event: {
      /** The endpoint URL. */
      endpoint: string;
      /** The new generation: connections opened before it are not reused. */
      generation: number;
    },
  ];
}

export type PoolEmit = <K extends keyof PoolEvents>(event: K, ...args: PoolEvents[K]) => void;
