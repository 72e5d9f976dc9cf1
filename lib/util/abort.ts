/**
 * One way to wait and to abort: every deadline, abort listener and "settle once, then clean up" in the library goes
 * through here, so that each is written (and gets its corner cases right) once.
 *
 * This is the bottom layer: it imports nothing else from lib, so every other layer may use it. Errors are made by
 * the caller (a factory is passed in), which keeps the error classes with the layers that own them.
 *
 * Not for the per-connection read and write deadlines: those run several times per call and share one kept timer
 * (lib/protocol/deadline-timer.ts). {@link withDeadline} is for one-off phases such as connecting or a handshake.
 */
import { addAbortListener as nodeAddAbortListener } from 'node:events';

/** Nothing to undo: what {@link addAbortListener} returns when there is no signal to listen to. */
const NOTHING: Disposable = { [Symbol.dispose]: () => undefined };

/**
 * Runs `fn` once when `signal` fires (on the next tick if it has already fired). Returns a disposable that removes
 * the listener; disposing it more than once, or after the signal fired, is harmless. With no signal, nothing happens.
 */
export function addAbortListener(signal: AbortSignal | undefined, fn: () => void): Disposable {
  if (signal === undefined) return NOTHING;
  return nodeAddAbortListener(signal, fn);
}

/**
 * True when `signal` has fired. A function rather than `signal?.aborted` inline, so that TypeScript does not carry
 * a narrowed value of the flag across an `await`.
 */
export function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** Why `signal` fired, as an Error: its reason when that is one, or a new Error saying the operation was aborted. */
export function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error('The operation was aborted', { cause: reason });
}

/** How the work given to {@link withDeadline} ends the wait; only the first call counts. */
export interface Settle<T> {
  /** Ends the wait successfully with `value`. */
  resolve(value: T): void;
  /** Ends the wait with `error`. */
  reject(error: Error): void;
}

/**
 * What the work given to {@link withDeadline} leaves to undo once the wait is over: detach its listeners, and on a
 * failure (`error` set: its own, the deadline's or the abort's) release what it holds, e.g. destroy a socket.
 */
export type Cleanup = (error: Error | undefined) => void;

/** The limit of a {@link withDeadline} wait. */
export interface DeadlineOptions {
  /** Milliseconds; `undefined` or `Infinity` for no limit (the signal alone can end the wait). */
  timeoutMs: number | undefined;
  /** Makes the error the wait fails with when the time is up (e.g. a `PhaseTimeoutError` naming its phase). */
  expired: () => Error;
  /** Makes the error the wait fails with when the signal fires. Default: {@link abortReason}. */
  aborted?: ((signal: AbortSignal) => Error) | undefined;
  /** Whether the timer may let the process exit while it runs. Default false: a wait keeps the process alive. */
  unref?: boolean | undefined;
}

/**
 * Waits for `work` to settle, within a deadline and until `signal` fires: the promise, timer, abort listener,
 * settled flag and cleanup that every one-off wait needs, written once.
 *
 * `work` starts at once (not at all if the signal has already fired: the wait then rejects with the abort
 * error) and calls `settle.resolve` or `settle.reject`; it may return a {@link Cleanup}, which runs
 * exactly once, after the timer and abort listener are gone and before the promise settles. A throw from `work`
 * rejects the wait.
 */
export function withDeadline<T>(deadline: DeadlineOptions, signal: AbortSignal | undefined, work: (settle: Settle<T>) => Cleanup | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = deadline.aborted ?? abortReason;
    if (signal?.aborted === true) {
      reject(onAbort(signal));
      return;
    }
    let settled = false;
    let failure: Error | undefined;
    let cleanup: Cleanup | undefined;
    let timer: NodeJS.Timeout | undefined;
    let listener: Disposable = NOTHING;
    const finish = (error: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      failure = error;
      clearTimeout(timer);
      listener[Symbol.dispose]();
      if (cleanup !== undefined) cleanup(error);
      if (error === undefined) resolve(value as T);
      else reject(error);
    };
    const { timeoutMs } = deadline;
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      timer = setTimeout(() => finish(deadline.expired()), Math.max(0, timeoutMs));
      if (deadline.unref === true) timer.unref();
    }
    if (signal !== undefined) listener = nodeAddAbortListener(signal, () => finish(onAbort(signal)));
    try {
      const undo = work({ resolve: (value) => finish(undefined, value), reject: (error) => finish(error) });
      // Settled while starting (e.g. the work found its answer at once): its cleanup is still owed.
      if (settled) undo?.(failure);
      else cleanup = undo;
    } catch (err) {
      finish(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
