/**
 * Waiting between status polls, as Octopus's client waits for a listening Tentacle: exponential from 300 ms by a
 * factor of 1.15 per poll, up to 5 s (reached after about twenty polls).
 */
import { setTimeout as delay } from 'node:timers/promises';

/** How often a running script's status is polled: a wait that grows geometrically from `minDelayMs` to `maxDelayMs`. */
export interface PollOptions {
  /** The first wait. Default 300 ms. */
  minDelayMs?: number;
  /** The longest wait. Default 5 000 ms. */
  maxDelayMs?: number;
  /** Each wait is the previous one times this. Default 1.15. */
  factor?: number;
}

export type ResolvedPollOptions = Required<PollOptions>;

export const POLL_DEFAULTS: ResolvedPollOptions = { minDelayMs: 300, maxDelayMs: 5000, factor: 1.15 };

/** The wait before poll number `iteration` (from 0). */
export function pollDelay(options: ResolvedPollOptions, iteration: number): number {
  return Math.min(options.maxDelayMs, options.minDelayMs * options.factor ** iteration);
}

/** Waits `ms`; resolves false (instead of throwing) when `signal` fires first. */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return false;
  try {
    await delay(ms, undefined, signal === undefined ? {} : { signal });
    return true;
  } catch {
    return false;
  }
}
