/**
 * One endpoint's share of the pool: its idle connections, the ones carrying a call, the ones being opened, how many
 * calls wait for it, and the state that decides when the pool may forget it. The pool changes these only through
 * its own methods; this module holds the data and the arithmetic on it.
 */
import type { PooledConnection } from './pooled-connection.js';

/** Where a connection is in the pool. */
export type EntryState =
  /** Waiting in its endpoint's idle list (and the pool's oldest-first list) for a call. */
  | 'idle'
  /** Carrying a call, or being checked with NEXT/PROCEED before it does. */
  | 'inUse'
  /** Closed and out of the pool. */
  | 'closed';

/** The pool's record of one connection it opened. */
export class PoolEntry<C extends PooledConnection> {
  state: EntryState = 'inUse';
  /** When it last went idle, on the pool's clock. */
  idleSince = 0;
  constructor(
    readonly connection: C,
    readonly endpoint: EndpointPool<C>,
    /** The endpoint's generation when it was opened: an older one is not reused after a clear. */
    readonly generation: number,
  ) {}
}

/** Whether the pool keeps an endpoint. */
export type EndpointState =
  /** It has connections (idle, in use or being opened) or calls waiting for one. */
  | 'active'
  /** It has neither: the pool forgets it once it has stayed so for `maxIdleTimeMs`. */
  | 'empty'
  /** Dropped from the pool; a later call to the endpoint starts a new record. */
  | 'forgotten';

/** One endpoint's connections and waiting calls. */
export class EndpointPool<C extends PooledConnection> {
  state: EndpointState = 'active';
  /** When it last became empty, on the pool's clock. */
  emptySince = 0;
  /** Oldest first: a call takes the newest (last-in-first-out), so extra connections age out. */
  readonly idle: Array<PoolEntry<C>> = [];
  readonly inUse = new Set<PoolEntry<C>>();
  /** Connections being opened (each counted from the moment room was granted for it). */
  connecting = 0;
  /** Calls waiting for a connection to this endpoint (they wait in the pool's one queue, in arrival order). */
  waiting = 0;
  /** Bumped by a clear: connections of an older generation are closed when they come back. */
  generation = 0;

  constructor(
    /** The pool's key for the endpoint (URL and pins). */
    readonly key: string,
    /** The endpoint URL, for events and errors. */
    readonly url: string,
  ) {}

  /** Connections counted against the limits: idle, in use and being opened. */
  get total(): number {
    return this.idle.length + this.inUse.size + this.connecting;
  }

  /** No connection and no waiting call. */
  get unused(): boolean {
    return this.total === 0 && this.waiting === 0;
  }

  /** Takes `entry` out of the idle list. */
  removeIdle(entry: PoolEntry<C>): void {
    // The entry is usually the oldest (expiry, eviction), so the search ends at once.
    const index = this.idle.indexOf(entry);
    if (index >= 0) this.idle.splice(index, 1);
  }
}
