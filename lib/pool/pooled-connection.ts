/**
 * What the pool needs of the connections it keeps, and of time. The pool's rules depend on nothing else, so they
 * can be exercised with stand-in connections and a clock moved by hand; the client's `ClientConnection` and the
 * system clock are what it runs on in use.
 */

/** A connection as the pool sees it: something it can check, close and tell apart from the others. */
export interface PooledConnection {
  /** Unique within the process: events about one connection carry it. */
  readonly id: number;
  /** True once the connection can carry nothing more (closed by either side). */
  readonly closed: boolean;
  /** Proves that an idle connection still works before it carries a request (NEXT/PROCEED); rejects if not. */
  heartbeat(): Promise<void>;
  /** Closes politely (END); resolves once closed. Never rejects. */
  end(): Promise<void>;
  /** Closes at once; anything waiting on the connection fails with `reason`. */
  destroy(reason?: Error): void;
  /** Calls `listener` once when the connection closes, whichever side closed it. */
  onClose(listener: () => void): void;
}

/** Opens a new, ready connection; `signal` stops the attempt. */
export type ConnectionFactory<C extends PooledConnection> = (signal: AbortSignal | undefined) => Promise<C>;

/** A connection handed to a call. */
export interface Lease<C extends PooledConnection> {
  /** The connection, ready for a request. */
  connection: C;
  /** True when the connection was just opened (not taken from the pool). */
  fresh: boolean;
}

/** Time as the pool reads it, and how it sets its one timer. */
export interface PoolClock {
  /** Milliseconds on a clock that never goes back. */
  now(): number;
  /** Calls `callback` once after `delayMs` without keeping the process alive; the function returned cancels it. */
  schedule(callback: () => void, delayMs: number): () => void;
}

/** The monotonic clock and unref'd timers. */
export const systemClock: PoolClock = {
  now: () => performance.now(),
  schedule(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
};
