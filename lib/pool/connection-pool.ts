/**
 * Connections per endpoint, so that calls skip TCP, TLS and identification when they can, under two limits: one per
 * endpoint and one for all endpoints together.
 *
 * One call per connection at a time (Halibut does not multiplex). Parallel calls open more connections up to
 * `maxConnectionsPerEndpoint`, and all endpoints together up to `maxConnections` (idle, in use and being opened).
 * When the client-wide limit is reached, the least recently used idle connection (necessarily of another endpoint:
 * a call takes its own endpoint's idle connection first) is closed to make room before anyone waits. A call that
 * still cannot have a connection waits in one queue, in arrival order across endpoints; a waiting call whose
 * endpoint is at its own limit is passed over until that endpoint has a connection to give back. Waits are bounded
 * in time and by the call's signal.
 *
 * Connections are handed out in one place, `#serve`: to a new call when nobody waits, else through `#dispatch`,
 * which runs after every change that frees a connection or room for one and walks the queue from its head (stopping
 * at once when there is nothing to hand out). What `#serve` hands out is already counted (a connection in use, or
 * room being opened), so nothing can take it in between.
 *
 * Idle connections are reused last-in-first-out per endpoint, so extras age out, and are closed after
 * `maxIdleTimeMs`, before the agent's own idle cutoff. A connection is offered for reuse only after a fully
 * successful exchange, and is checked with NEXT/PROCEED before its next request; one that fails that check was
 * stale and is replaced at once, which does not count as a failed attempt. Clearing an endpoint bumps its
 * generation: connections of an older generation are closed instead of reused. An endpoint left with no connection
 * and no waiting call is forgotten after `maxIdleTimeMs`, so that a fleet's worth of endpoints does not stay in
 * memory. Expiring connections and forgetting endpoints share one unref'd timer, set for the earliest of them.
 */
import createDebug from 'debug';
import { publishConnectionClosed, publishPoolWait, type PoolLimit, type PoolWaitOutcome } from '../diagnostics/channels.js';
import { abortReason, addAbortListener, isAborted, withDeadline } from '../util/abort.js';
import { EndpointPool, PoolEntry } from './endpoint-pool.js';
import { PoolClosedError, WaitQueueTimeoutError } from './errors.js';
import type { CheckOutFailureReason, ConnectionCloseReason, PoolEmit } from './pool-events.js';
import type { EndpointStats, PoolStats } from './pool-stats.js';
import { systemClock, type ConnectionFactory, type Lease, type PoolClock, type PooledConnection } from './pooled-connection.js';

const debug = createDebug('halibut:pool');

export interface PoolOptions {
  /** Connections (in use, idle and being opened) of all endpoints together. */
  maxConnections: number;
  /** Connections (in use, idle and being opened) per endpoint. */
  maxConnectionsPerEndpoint: number;
  /** Idle connections kept per endpoint. */
  maxIdlePerEndpoint: number;
  /** An idle connection older than this is closed; an endpoint with nothing left for this long is forgotten. */
  maxIdleTimeMs: number;
  /** How long a caller may wait for a connection when all are busy. */
  waitQueueTimeoutMs: number;
  /** The clock and timer; the system's unless a test moves time by hand. */
  clock?: PoolClock | undefined;
}

/** What a call is handed: an idle connection (now in use) to check, or room to open a new one. */
type Grant<C extends PooledConnection> = PoolEntry<C> | 'open';

/** What `#serve` gives: a grant, or the limit that keeps the call waiting. */
type Served<C extends PooledConnection> = Grant<C> | PoolLimit;

interface Waiter<C extends PooledConnection> {
  readonly endpoint: EndpointPool<C>;
  grant(grant: Grant<C>): void;
  fail(error: Error): void;
}

const ENDED: Promise<void> = Promise.resolve();

export class ConnectionPool<C extends PooledConnection> {
  readonly #options: PoolOptions;
  readonly #emit: PoolEmit;
  readonly #clock: PoolClock;
  readonly #endpoints = new Map<string, EndpointPool<C>>();
  readonly #entries = new WeakMap<C, PoolEntry<C>>();
  /** Every idle connection, oldest first: the next to expire, and the first to be evicted. */
  readonly #idle = new Set<PoolEntry<C>>();
  /** Endpoints with nothing left, longest first: the next to be forgotten. */
  readonly #unused = new Set<EndpointPool<C>>();
  /** Every waiting call, in arrival order. */
  readonly #queue = new Set<Waiter<C>>();
  /** Connection attempts under way, so that closing the client can stop them. */
  readonly #attempts = new Set<AbortController>();
  readonly #drainWaiters: Array<() => void> = [];
  #inUse = 0;
  #connecting = 0;
  #evicted = 0;
  #dispatching = false;
  #dispatchAgain = false;
  #cancelSweep: (() => void) | undefined;
  #closed = false;

  constructor(options: PoolOptions, emit: PoolEmit = () => undefined) {
    this.#options = options;
    this.#emit = emit;
    this.#clock = options.clock ?? systemClock;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Connections idle, in use and being opened, over all endpoints: what `maxConnections` limits. */
  get #open(): number {
    return this.#idle.size + this.#inUse + this.#connecting;
  }

  /** One endpoint's connections and waiting calls; all zero for an endpoint the pool has no record of. */
  stats(key: string): EndpointStats {
    const ep = this.#endpoints.get(key);
    if (ep === undefined) return { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 };
    return { open: ep.total, idle: ep.idle.length, inUse: ep.inUse.size, connecting: ep.connecting, waiting: ep.waiting };
  }

  /** Every endpoint together, with the number of endpoints on record and of connections evicted so far. */
  totals(): PoolStats {
    return {
      open: this.#open,
      idle: this.#idle.size,
      inUse: this.#inUse,
      connecting: this.#connecting,
      waiting: this.#queue.size,
      endpoints: this.#endpoints.size,
      evicted: this.#evicted,
    };
  }

  #endpoint(key: string, url: string): EndpointPool<C> {
    let ep = this.#endpoints.get(key);
    if (ep === undefined) {
      ep = new EndpointPool<C>(key, url);
      this.#endpoints.set(key, ep);
    }
    return ep;
  }

  /** Returns a connection ready for a request: a pooled one that answered NEXT with PROCEED, or a new one. */
  async checkOut(key: string, url: string, open: ConnectionFactory<C>, signal?: AbortSignal): Promise<Lease<C>> {
    const started = performance.now();
    this.#emit('connectionCheckOutStarted', { endpoint: url });
    if (this.#closed) throw this.#checkOutFailed(url, started, 'poolClosed', new PoolClosedError(url));
    if (isAborted(signal)) throw this.#checkOutFailed(url, started, 'aborted', abortReason(signal));
    const ep = this.#endpoint(key, url);
    // A call that finds others waiting joins the queue behind them, so that the queue stays first-come first-served.
    let served: Served<C> | undefined = this.#queue.size === 0 && !this.#dispatching ? this.#serve(ep) : undefined;
    // An endpoint on its way to being forgotten is in use again (one that must wait is settled by its wait).
    if (isGrant(served)) this.#settle(ep);
    for (;;) {
      // From here on, a grant is one unit of the endpoint's connections: it must be used or released.
      const grant = isGrant(served) ? served : await this.#wait(ep, served, signal, started);
      if (this.#closed || isAborted(signal)) {
        this.#release(ep, grant);
        if (this.#closed) throw this.#checkOutFailed(url, started, 'poolClosed', new PoolClosedError(url));
        throw this.#checkOutFailed(url, started, 'aborted', abortReason(signal));
      }
      if (grant === 'open') {
        const connection = await this.#create(ep, open, signal).catch((err: unknown) => {
          throw this.#checkOutFailed(url, started, isAborted(signal) ? 'aborted' : 'connectionError', err as Error);
        });
        this.#emit('connectionCheckedOut', { endpoint: url, connectionId: connection.id, durationMs: performance.now() - started, reused: false });
        return { connection, fresh: true };
      }
      if (await this.#confirm(grant, signal)) {
        this.#emit('connectionCheckedOut', { endpoint: url, connectionId: grant.connection.id, durationMs: performance.now() - started, reused: true });
        return { connection: grant.connection, fresh: false };
      }
      if (isAborted(signal)) {
        this.#changed();
        throw this.#checkOutFailed(url, started, 'aborted', abortReason(signal));
      }
      // The stale connection's place passes to its replacement: the next idle one, or room to open one. Nothing
      // else ran since it was closed, so the place is still there.
      served = this.#serve(ep);
      this.#changed();
    }
  }

  #checkOutFailed(url: string, started: number, reason: CheckOutFailureReason, error: Error): Error {
    this.#emit('connectionCheckOutFailed', { endpoint: url, reason, durationMs: performance.now() - started, error });
    return error;
  }

  /**
   * The one place that hands out connections: `ep`'s newest idle connection, else room to open one if both limits
   * allow it, closing the least recently used idle connection of the pool to make room under `maxConnections`.
   * What it grants is counted at once. Otherwise it says which limit holds the call.
   */
  #serve(ep: EndpointPool<C>): Served<C> {
    const idle = ep.idle.pop();
    if (idle !== undefined) {
      this.#idle.delete(idle);
      idle.state = 'inUse';
      ep.inUse.add(idle);
      this.#inUse++;
      return idle;
    }
    if (ep.total >= this.#options.maxConnectionsPerEndpoint) return 'maxConnectionsPerEndpoint';
    if (this.#open >= this.#options.maxConnections && !this.#evictOne()) return 'maxConnections';
    ep.connecting++;
    this.#connecting++;
    return 'open';
  }

  /** Closes the pool's least recently used idle connection (of another endpoint than the caller's, which has none). */
  #evictOne(): boolean {
    const oldest = first(this.#idle);
    if (oldest === undefined) return false;
    this.#dropIdle(oldest);
    const reason = this.#perished(oldest, true) ?? 'evicted';
    debug('closing idle connection %d to %s (%s) to make room', oldest.connection.id, oldest.endpoint.url, reason);
    void this.#close(oldest, reason);
    return true;
  }

  /** Serves waiting calls, in arrival order, for as long as there is something to hand out. */
  #dispatch(): void {
    if (this.#queue.size === 0) return;
    // A listener of an event emitted on the way may start a call; it joins the queue and this pass comes round to it.
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#dispatchAgain = false;
        for (const waiter of this.#queue) {
          // No room and no idle connection (to reuse or evict): nobody further back can be served either.
          if (this.#closed || (this.#open >= this.#options.maxConnections && this.#idle.size === 0)) break;
          const served = this.#serve(waiter.endpoint);
          if (!isGrant(served)) continue;
          if (this.#queue.delete(waiter)) {
            waiter.endpoint.waiting--;
            waiter.grant(served);
          } else {
            // It left the queue (a listener closed the client) while its grant was being made.
            this.#release(waiter.endpoint, served);
          }
        }
      } while (this.#dispatchAgain);
    } finally {
      this.#dispatching = false;
    }
  }

  /** After connections were closed or came back: waiting calls may be served, and close() may be waiting. */
  #changed(): void {
    this.#dispatch();
    this.#notifyDrain();
  }

  /**
   * Waits in the queue until `#dispatch` grants a connection or room for one. `limit` is what holds the call;
   * undefined when it joined the queue behind others without trying, and may be served at once.
   */
  async #wait(ep: EndpointPool<C>, limit: PoolLimit | undefined, signal: AbortSignal | undefined, started: number): Promise<Grant<C>> {
    const waitStarted = performance.now();
    let heldBy = limit;
    const timeoutMs = this.#options.waitQueueTimeoutMs - (waitStarted - started);
    const expired = (): Error => new WaitQueueTimeoutError(ep.url, this.#options.waitQueueTimeoutMs, this.#limitOn(ep));
    try {
      const grant = await withDeadline<Grant<C>>({ timeoutMs, expired }, signal, (settle) => {
        const waiter: Waiter<C> = { endpoint: ep, grant: (grant) => settle.resolve(grant), fail: (error) => settle.reject(error) };
        this.#queue.add(waiter);
        ep.waiting++;
        this.#settle(ep);
        if (limit === undefined) {
          this.#dispatch();
          // Still queued: a limit holds it after all (which one is known only now).
          if (this.#queue.has(waiter)) heldBy = this.#limitOn(ep);
        }
        return (failure) => {
          if (failure === undefined || !this.#queue.delete(waiter)) return;
          ep.waiting--;
          this.#settle(ep);
        };
      });
      // Served as it joined the queue, it never waited: nothing to report.
      if (heldBy !== undefined) publishPoolWait(ep.url, waitStarted, heldBy, 'served');
      return grant;
    } catch (err) {
      // A wait refused before it began (an aborted signal) never counted the endpoint as in use.
      this.#settle(ep);
      const reason: CheckOutFailureReason & PoolWaitOutcome = err instanceof WaitQueueTimeoutError ? 'timeout' : err instanceof PoolClosedError ? 'poolClosed' : 'aborted';
      publishPoolWait(ep.url, waitStarted, heldBy ?? this.#limitOn(ep), reason, err as Error);
      throw this.#checkOutFailed(ep.url, started, reason, err as Error);
    }
  }

  /** Which limit holds a call to `ep` that could not be served. */
  #limitOn(ep: EndpointPool<C>): PoolLimit {
    return ep.total >= this.#options.maxConnectionsPerEndpoint ? 'maxConnectionsPerEndpoint' : 'maxConnections';
  }

  /**
   * Checks that a granted idle connection still works (NEXT/PROCEED). If it does not, it is closed and false is
   * returned: its place is free, and the caller takes it again before anything else can.
   */
  async #confirm(entry: PoolEntry<C>, signal: AbortSignal | undefined): Promise<boolean> {
    const conn = entry.connection;
    const perished = this.#perished(entry, true);
    if (perished !== undefined) {
      this.#dropInUse(entry, perished);
      return false;
    }
    // A NEXT the agent never answers must not outlast the caller's wish to stop.
    const onAbort = addAbortListener(signal, () => conn.destroy(abortReason(signal)));
    try {
      await conn.heartbeat();
      debug('reusing connection %d to %s', conn.id, entry.endpoint.url);
      return true;
    } catch (err) {
      debug('pooled connection %d to %s was stale: %s', conn.id, entry.endpoint.url, (err as Error).message);
      this.#dropInUse(entry, isAborted(signal) ? 'aborted' : 'stale', err as Error);
      return false;
    } finally {
      onAbort[Symbol.dispose]();
    }
  }

  /** Gives back a grant that will not be used (its call was aborted, or the pool closed meanwhile). */
  #release(ep: EndpointPool<C>, grant: Grant<C>): void {
    if (grant === 'open') {
      this.#endConnecting(ep);
    } else {
      ep.inUse.delete(grant);
      this.#inUse--;
      this.#putBack(grant);
    }
    this.#changed();
  }

  async #create(ep: EndpointPool<C>, open: ConnectionFactory<C>, signal: AbortSignal | undefined): Promise<C> {
    const started = performance.now();
    const attempt = new AbortController();
    this.#attempts.add(attempt);
    let connection: C;
    try {
      connection = await open(signal === undefined ? attempt.signal : AbortSignal.any([signal, attempt.signal]));
    } catch (err) {
      this.#attempts.delete(attempt);
      this.#endConnecting(ep);
      this.#changed();
      throw err;
    }
    this.#attempts.delete(attempt);
    // From being opened to in use, without passing through "nothing left".
    ep.connecting--;
    this.#connecting--;
    const entry = new PoolEntry(connection, ep, ep.generation);
    ep.inUse.add(entry);
    this.#inUse++;
    this.#entries.set(connection, entry);
    this.#emit('connectionCreated', { endpoint: ep.url, connectionId: connection.id });
    this.#emit('connectionReady', { endpoint: ep.url, connectionId: connection.id, durationMs: performance.now() - started });
    // A connection the agent closes while idle is dropped at once rather than discovered at the next NEXT.
    connection.onClose(() => {
      if (entry.state !== 'idle') return;
      this.#dropIdle(entry);
      void this.#close(entry, 'stale');
      this.#changed();
    });
    if (this.#closed) {
      this.#dropInUse(entry, 'poolClosed');
      this.#changed();
      throw new PoolClosedError(ep.url);
    }
    return connection;
  }

  #endConnecting(ep: EndpointPool<C>): void {
    ep.connecting--;
    this.#connecting--;
    this.#settle(ep);
  }

  /** Why a connection may not be used again, if it may not; `idle` when it has been waiting since `idleSince`. */
  #perished(entry: PoolEntry<C>, idle: boolean): ConnectionCloseReason | undefined {
    if (entry.connection.closed) return 'stale';
    if (entry.generation !== entry.endpoint.generation) return 'cleared';
    if (idle && this.#clock.now() - entry.idleSince >= this.#options.maxIdleTimeMs) return 'idle';
    return undefined;
  }

  /** Gives back a connection after a fully successful exchange. */
  checkIn(connection: C): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined || entry.state !== 'inUse') return;
    entry.endpoint.inUse.delete(entry);
    this.#inUse--;
    this.#emit('connectionCheckedIn', { endpoint: entry.endpoint.url, connectionId: connection.id });
    this.#putBack(entry);
    this.#changed();
  }

  /** Makes a connection that left use idle, unless it may not be used again. */
  #putBack(entry: PoolEntry<C>): void {
    const perished = this.#closed ? 'poolClosed' : this.#perished(entry, false);
    if (perished !== undefined) {
      void this.#close(entry, perished);
      return;
    }
    const ep = entry.endpoint;
    entry.state = 'idle';
    entry.idleSince = this.#clock.now();
    ep.idle.push(entry);
    this.#idle.add(entry);
    while (ep.idle.length > this.#options.maxIdlePerEndpoint) {
      const oldest = ep.idle[0]!;
      this.#dropIdle(oldest);
      void this.#close(oldest, 'excess');
    }
    this.#scheduleSweep();
  }

  /** Throws a connection away after an error or an abort (never reused). */
  discard(connection: C, reason: ConnectionCloseReason, error?: Error, force = true): void {
    const entry = this.#entries.get(connection);
    if (entry === undefined) {
      connection.destroy(error);
      return;
    }
    if (entry.state !== 'inUse') return;
    this.#dropInUse(entry, reason, error, force);
    this.#changed();
  }

  /** Closes the endpoint's idle connections and makes every older connection perish when it comes back. */
  clear(key: string): void {
    const ep = this.#endpoints.get(key);
    if (ep === undefined) return;
    ep.generation++;
    for (const entry of ep.idle.splice(0)) {
      this.#idle.delete(entry);
      void this.#close(entry, 'cleared');
    }
    this.#emit('poolCleared', { endpoint: ep.url, generation: ep.generation });
    debug('cleared pool for %s (generation %d)', ep.url, ep.generation);
    this.#changed();
  }

  #dropIdle(entry: PoolEntry<C>): void {
    entry.endpoint.removeIdle(entry);
    this.#idle.delete(entry);
  }

  #dropInUse(entry: PoolEntry<C>, reason: ConnectionCloseReason, error?: Error, force = false): void {
    entry.endpoint.inUse.delete(entry);
    this.#inUse--;
    void this.#close(entry, reason, error, force);
  }

  /** Closes a connection already taken out of the idle list or the in-use set; resolves once it is closed. */
  #close(entry: PoolEntry<C>, reason: ConnectionCloseReason, error?: Error, force = false): Promise<void> {
    entry.state = 'closed';
    const conn = entry.connection;
    let ending = ENDED;
    // A healthy connection is ended politely (END); a broken or busy one is destroyed.
    if (force || reason === 'error' || reason === 'aborted' || reason === 'stale') conn.destroy(error);
    else ending = conn.end();
    if (reason === 'evicted') this.#evicted++;
    const url = entry.endpoint.url;
    this.#emit('connectionClosed', { endpoint: url, connectionId: conn.id, reason, ...(error === undefined ? {} : { error }) });
    publishConnectionClosed(url, conn.id, reason, error);
    this.#settle(entry.endpoint);
    return ending;
  }

  /** Moves an endpoint between "active" and "empty" after its connections or waiting calls changed. */
  #settle(ep: EndpointPool<C>): void {
    if (ep.state === 'forgotten') return;
    if (!ep.unused) {
      if (ep.state === 'empty') {
        ep.state = 'active';
        this.#unused.delete(ep);
      }
      return;
    }
    if (ep.state === 'empty') return;
    // A closed pool keeps nothing it no longer needs: no timer is set after close.
    if (this.#closed) {
      this.#forget(ep);
      return;
    }
    ep.state = 'empty';
    ep.emptySince = this.#clock.now();
    this.#unused.add(ep);
    this.#scheduleSweep();
  }

  #forget(ep: EndpointPool<C>): void {
    ep.state = 'forgotten';
    this.#unused.delete(ep);
    this.#endpoints.delete(ep.key);
    debug('forgot %s', ep.url);
  }

  /**
   * Sets the one timer for the earliest expiry, unless it is set: whatever is added later expires later, and a
   * timer that fires for something since reused finds nothing to do and sets itself for the next.
   */
  #scheduleSweep(): void {
    if (this.#closed || this.#cancelSweep !== undefined) return;
    const oldest = Math.min(first(this.#idle)?.idleSince ?? Infinity, first(this.#unused)?.emptySince ?? Infinity);
    if (oldest === Infinity) return;
    // At least 1 ms, so that a timer that fired a little early does not spin.
    const delayMs = Math.max(1, oldest + this.#options.maxIdleTimeMs - this.#clock.now());
    this.#cancelSweep = this.#clock.schedule(() => {
      try {
        this.#sweep();
      } finally {
        this.#cancelSweep = undefined;
        this.#scheduleSweep();
      }
    }, delayMs);
  }

  /** Closes the idle connections and forgets the endpoints that have waited `maxIdleTimeMs`. */
  #sweep(): void {
    const cutoff = this.#clock.now() - this.#options.maxIdleTimeMs;
    for (const entry of this.#idle) {
      if (entry.idleSince > cutoff) break;
      this.#dropIdle(entry);
      void this.#close(entry, 'idle');
    }
    for (const ep of this.#unused) {
      if (ep.emptySince > cutoff) break;
      this.#forget(ep);
    }
    this.#changed();
  }

  /** True when no connection is in use or being opened. */
  get idleOnly(): boolean {
    return this.#inUse === 0 && this.#connecting === 0;
  }

  /** Resolves when no connection is in use or being opened. */
  drained(): Promise<void> {
    if (this.idleOnly) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #notifyDrain(): void {
    if (!this.idleOnly) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /**
   * Stops handing out connections: waiters fail with {@link PoolClosedError}, idle connections are ended with END.
   * Connections in use are closed when they come back; endpoints are forgotten as they are left with nothing.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelSweep?.();
    this.#cancelSweep = undefined;
    for (const waiter of [...this.#queue]) waiter.fail(new PoolClosedError(waiter.endpoint.url));
    const ending: Array<Promise<void>> = [];
    for (const entry of [...this.#idle]) {
      this.#dropIdle(entry);
      ending.push(this.#close(entry, 'poolClosed'));
    }
    for (const ep of [...this.#unused]) this.#forget(ep);
    await Promise.all(ending);
  }

  /** Destroys every connection in use and stops every attempt to open one (when closing must not wait). */
  destroyInUse(error: Error): void {
    for (const attempt of this.#attempts) attempt.abort(error);
    for (const ep of [...this.#endpoints.values()]) {
      for (const entry of [...ep.inUse]) this.discard(entry.connection, 'poolClosed', error);
    }
  }
}

/** True for what `#serve` grants, false for a limit (or nothing yet). */
function isGrant<C extends PooledConnection>(served: Served<C> | undefined): served is Grant<C> {
  return served instanceof PoolEntry || served === 'open';
}

/** The first item of a set in insertion order (the oldest). */
function first<T>(set: Set<T>): T | undefined {
  return set.values().next().value;
}
