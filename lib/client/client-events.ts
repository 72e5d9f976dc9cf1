import type { PoolEvents } from '../pool/pool-events.js';

/** What every call event carries. */
export interface CallEvent {
  /** The endpoint URL. */
  endpoint: string;
  /** The service called. */
  service: string;
  /** The method called. */
  method: string;
  /** The request id sent on the wire (`Service::Method[n] / activity`). */
  callId: string;
}

/**
 * Everything a {@link HalibutClient} reports: the pool's connection events, retries, and calls with durations.
 * For observability: failures reach the caller through the call's promise whether or not anyone listens.
 */
export interface ClientEvents extends PoolEvents {
  /** A call began (before any connection is sought). */
  callStarted: [event: CallEvent];
  /** A call returned its result. */
  callSucceeded: [
    event: CallEvent & {
      /** From `callStarted`, in milliseconds. */
      durationMs: number;
    },
  ];
  /** A call failed; the caller's promise rejects with `error`. */
  callFailed: [
    event: CallEvent & {
      /** From `callStarted`, in milliseconds. */
      durationMs: number;
      /** The error the call rejects with. */
      error: Error;
    },
  ];
  /** A connection attempt failed before the request began and another will follow. */
  retryScheduled: [
    event: {
      /** The endpoint URL. */
      endpoint: string;
      /** The call's request id, as in its call events. */
      callId: string;
      /** The number of the attempt that failed, from 1. */
      attempt: number;
      /** Attempts still allowed. */
      retriesLeft: number;
      /** Why the attempt failed. */
      error: Error;
    },
  ];
}
