// Stand-ins for what the pool runs on, so that its rules can be tested alone: connections that only record how
// they were closed, a factory that opens them at once (or fails, or waits to be told), and a clock moved by hand.
import { ConnectionPool, type PoolOptions } from '../../lib/pool/connection-pool.js';
import type { PoolEvents } from '../../lib/pool/pool-events.js';
import type { PoolClock, PooledConnection } from '../../lib/pool/pooled-connection.js';

let nextId = 1;

/** A connection that does nothing but remember how it ended. */
export class FakeConnection implements PooledConnection {
  readonly id = nextId++;
  /** How it was closed: by the pool politely (END) or at once, or by the agent. */
  closedBy: 'end' | 'destroy' | 'agent' | undefined;
  /** Makes the next NEXT/PROCEED fail, as on a connection the agent dropped without our noticing. */
  stale = false;
  readonly #onClose: Array<() => void> = [];

  constructor(readonly endpoint: string) {}

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  heartbeat(): Promise<void> {
    return this.stale ? Promise.reject(new Error('no PROCEED')) : Promise.resolve();
  }

  end(): Promise<void> {
    this.#closeBy('end');
    return Promise.resolve();
  }

  destroy(): void {
    this.#closeBy('destroy');
  }

  onClose(listener: () => void): void {
    this.#onClose.push(listener);
  }

  /** The agent closes the connection. */
  closeFromAgent(): void {
    this.#closeBy('agent');
  }

  #closeBy(how: 'end' | 'destroy' | 'agent'): void {
    if (this.closedBy !== undefined) return;
    this.closedBy = how;
    for (const listener of this.#onClose.splice(0)) listener();
  }
}

/** A clock that moves only when told to, running the callbacks that fall due on the way, in order. */
export class ManualClock implements PoolClock {
  time = 0;
  readonly #timers = new Set<{ at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  schedule(callback: () => void, delayMs: number): () => void {
    const timer = { at: this.time + delayMs, callback };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Timers set and not yet run or cancelled. */
  get pending(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let due: { at: number; callback: () => void } | undefined;
      for (const timer of this.#timers) if (timer.at <= target && (due === undefined || timer.at < due.at)) due = timer;
      if (due === undefined) break;
      this.#timers.delete(due);
      this.time = due.at;
      due.callback();
    }
    this.time = target;
  }
}

/** A connection-closed event, as the tests compare them. */
export interface Closed {
  endpoint: string;
  connectionId: number;
  reason: string;
}

/** A pool of fake connections on a manual clock, recording what it opens and closes. */
export function fakePool(options: Partial<PoolOptions> = {}) {
  const clock = new ManualClock();
  const closed: Closed[] = [];
  const opened: FakeConnection[] = [];
  /** Endpoints whose next connection attempt fails. */
  const refusing = new Set<string>();
  const emit = <K extends keyof PoolEvents>(event: K, ...args: PoolEvents[K]): void => {
    if (event !== 'connectionClosed') return;
    const { endpoint, connectionId, reason } = args[0] as PoolEvents['connectionClosed'][0];
    closed.push({ endpoint, connectionId, reason });
  };
  const pool = new ConnectionPool<FakeConnection>(
    { maxConnections: 4, maxConnectionsPerEndpoint: 16, maxIdlePerEndpoint: 5, maxIdleTimeMs: 1000, waitQueueTimeoutMs: 60_000, clock, ...options },
    emit,
  );
  const open = (endpoint: string) => async (): Promise<FakeConnection> => {
    if (refusing.delete(endpoint)) throw new Error(`${endpoint} refused the connection`);
    const connection = new FakeConnection(endpoint);
    opened.push(connection);
    return connection;
  };
  /** Checks a connection out for `endpoint` (its URL and key are the same string here). */
  const checkOut = (endpoint: string, signal?: AbortSignal) => pool.checkOut(endpoint, endpoint, open(endpoint), signal);
  return { pool, clock, closed, opened, refusing, checkOut };
}
