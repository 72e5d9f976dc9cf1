import type { PoolEvents } from '../pool/pool-events.js';

export interface CallEvent {
  /** The endpoint URL. */
  endpoint: string;
  service: string;
  method: string;
  /** The request id sent on the wire (`Service::Method[n] / activity`). */
  callId: string;
}

/**
 * Everything a {@link HalibutClient} reports: the pool's connection events, retries, and calls with durations.
 * For observability: failures reach the caller through the call's promise whether or not anyone listens.
 */
export interface ClientEvents extends PoolEvents {
  callStarted: [event: CallEvent];
  callSucceeded: [event: CallEvent & { durationMs: number }];
  callFailed: [event: CallEvent & { durationMs: number; error: Error }];
  /** A connection attempt failed before the request began and another will follow. */
  retryScheduled: [event: { endpoint: string; callId: string; attempt: number; retriesLeft: number; error: Error }];
}
