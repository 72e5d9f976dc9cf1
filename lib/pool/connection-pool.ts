/**
 * Connections per endpoint, so that calls skip TCP, TLS and identification when they can.
 *
 * One call per connection at a time (Halibut does not multiplex). Parallel calls open more connections up to
 * `maxConnectionsPerEndpoint`; further callers wait in a FIFO queue, bounded in time and by their signal. Idle
 * connections are reused last-in-first-out, so extras age out, and are closed before the agent's own idle cutoff.
 * A connection is offered for reuse only after a fully successful exchange, and is checked with NEXT/PROCEED before
 * its next request; one that fails that check was stale and is replaced at once, which does not count as a failed
 * attempt. Clearing an endpoint bumps its generation: connections of an older generation are closed instead of reused.
 */
import createDebug from 'debug';
import { publishConnectionClosed, publishPoolWait, type PoolWaitOutcome } from '../diagnostics/channels.js';
import type { ClientConnection } from '../protocol/client-connection.js';
import { abortReason, addAbortListener, isAborted, withDeadline } from '../util/abort.js';
import { PoolClosedError, WaitQueueTimeoutError } from './errors.js';
import type { CheckOutFailureReason, ConnectionCloseReason, PoolEmit } from './pool-events.js';

const debug = createDebug('halibut:pool');

export interface PoolOptions {
  /** Connections (in use, idle and being opened) per endpoint. */
  maxConnectionsPerEndpoint: number;
  /** Idle connections kept per endpoint. */
  maxIdlePerEndpoint: number;
  /** An idle connection older than this is closed. */
  maxIdleTimeMs: number;
  /** How long a caller may wait for a connection when all are busy. */
  waitQueueTimeoutMs: number;
}

/** Opens a new, identified connection. */
export type ConnectionFactory = (signal: AbortSignal | undefined) => Promise<ClientConnection>;

export interface Lease {
  connection: ClientConnection;
  /** True when the connection was just opened (not taken from the pool). */
  fresh: boolean;
}

/** A snapshot of one endpoint's connections (see {@link HalibutClient.stats}). */
export interface EndpointStats {
  /** All connections: idle, in use and being opened. */
  open: number;
  /** Open and waiting in the pool for a call. */
  idle: number;
  /** Carrying a call. */
  inUse: number;
  /** Being opened (TCP, TLS, identification). */
  connecting: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

interface Waiter {
  wake(): void;
  fail(error: Error): void;
}

interface Tracked {
  endpoint: EndpointPool;
  generation: number;
  idleTimer?: NodeJS.Timeout | undefined;
}

class EndpointPool {
  readonly idle: ClientConnection[] = [];
  readonly inUse = new Set<ClientConnection>();
  readonly waiters: Waiter[] = [];
  /** Connection attempts under way, so that closing the client can stop them. */
  readonly attempts = new Set<AbortController>();
  connecting = 0;
  generation = 0;
  constructor(readonly url: string) {}

  get total(): number {
    return this.idle.length + this.inUse.size + this.connecting;
  }

  wakeOne(): void {
    this.waiters.shift()?.wake();
  }
}

export class ConnectionPool {
  readonly #options: PoolOptions;
  readonly #emit: PoolEmit;
  readonly #endpoints = new Map<string, EndpointPool>();
  readonly #tracked = new WeakMap<ClientConnection, Tracked>();
  readonly #drainWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: PoolOptions, emit: PoolEmit = () => undefined) {
    this.#options = options;
    this.#emit = emit;
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(key: string): EndpointStats {
    const ep = this.#endpoints.get(key);
    if (ep === undefined) return { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 };
    return { open: ep.total, idle: ep.idle.length, inUse: ep.inUse.size, connecting: ep.connecting, waiting: ep.waiters.length };
  }

  #endpoint(key: string, url: string): EndpointPool {
    let ep = this.#endpoints.get(key);
    if (ep === undefined) {
      ep = new EndpointPool(url);
      this.#endpoints.set(key, ep);
    }
    return ep;
  }

  /** Returns a connection ready for a request: a pooled one that answered NEXT with PROCEED, or a new one. */
  async checkOut(key: string, url: string, open: ConnectionFactory, signal?: AbortSignal): Promise<Lease> {
    const ep = this.#endpoint(key, url);
    const started = performance.now();
    this.#emit('connectionCheckOutStarted', { endpoint: url });
    const deadline = Date.now() + this.#options.waitQueueTimeoutMs;
    // Arrivals queue behind callers already waiting, so the queue stays first-come first-served.
    let mustWait = ep.waiters.length > 0;
    for (;;) {
      if (this.#closed) throw this.#checkOutFailed(url, started, 'poolClosed', new PoolClosedError(url));
      if (isAborted(signal)) throw this.#checkOutFailed(url, started, 'aborted', abortReason(signal));
      if (mustWait) {
        const waitStarted = performance.now();
        try {
          await this.#waitForTurn(ep, deadline, signal);
          publishPoolWait(url, waitStarted, 'served');
        } catch (err) {
          const reason: CheckOutFailureReason & PoolWaitOutcome = err instanceof WaitQueueTimeoutError ? 'timeout' : err instanceof PoolClosedError ? 'poolClosed' : 'aborted';
          publishPoolWait(url, waitStarted, reason, err as Error);
          throw this.#checkOutFailed(url, started, reason, err as Error);
        }
        mustWait = false;
        continue;
      }
      const reused = await this.#takeIdle(ep, signal);
      if (reused !== undefined) {
        this.#emit('connectionCheckedOut', { endpoint: url, connectionId: reused.id, durationMs: performance.now() - started, reused: true });
        return { connection: reused, fresh: false };
      }
      if (isAborted(signal)) throw this.#checkOutFailed(url, started, 'aborted', abortReason(signal));
      if (ep.total < this.#options.maxConnectionsPerEndpoint) {
        const connection = await this.#create(ep, open, signal).catch((err: unknown) => {
          throw this.#checkOutFailed(url, started, isAborted(signal) ? 'aborted' : 'connectionError', err as Error);
        });
        this.#emit('connectionCheckedOut', { endpoint: url, connectionId: connection.id, durationMs: performance.now() - started, reused: false });
        return { connection, fresh: true };
      }
      mustWait = true;
    }
  }

  #checkOutFailed(url: string, started: number, reason: CheckOutFailureReason, error: Error): Error {
    this.#emit('connectionCheckOutFailed', { endpoint: url, reason, durationMs: performance.now() - started, error });
    return error;
  }

  /** Pops idle connections until one passes NEXT/PROCEED; closes the perished and the stale on the way. */
  async #takeIdle(ep: EndpointPool, signal: AbortSignal | undefined): Promise<ClientConnection | undefined> {
    for (let conn = ep.idle.pop(); conn !== undefined; conn = ep.idle.pop()) {
      // The idle timer is left running: it does nothing to a connection that is not idle, and check-in re-arms it.
      const perished = this.#perished(conn, ep);
      if (perished !== undefined) {
        this.#close(ep, conn, perished);
        continue;
      }
      ep.inUse.add(conn);
      // A NEXT the agent never answers must not outlast the caller's wish to stop.
      const onAbort = addAbortListener(signal, () => conn.destroy(abortReason(signal)));
      try {
        await conn.heartbeat();
        debug('reusing connection %d to %s', conn.id, ep.url);
        return conn;
      } catch (err) {
        ep.inUse.delete(conn);
        this.#close(ep, conn, isAborted(signal) ? 'aborted' : 'stale', err as Error);
        if (isAborted(signal)) return undefined;
        debug('pooled connection %d to %s was stale: %s', conn.id, ep.url, (err as Error).message);
      } finally {
        onAbort[Symbol.dispose]();
      }
    }
    return undefined;
  }

  async #create(ep: EndpointPool, open: ConnectionFactory, signal: AbortSignal | undefined): Promise<ClientConnection> {
    ep.connecting++;
    const started = performance.now();
    const attempt = new AbortController();
    ep.attempts.add(attempt);
    let connection: ClientConnection;
    try {
      connection = await open(signal === undefined ? attempt.signal : AbortSignal.any([signal, attempt.signal]));
    } catch (err) {
      ep.attempts.delete(attempt);
      ep.connecting--;
      ep.wakeOne();
      this.#notifyDrain();
      throw err;
    }
    ep.attempts.delete(attempt);
    ep.connecting--;
    this.#tracked.set(connection, { endpoint: ep, generation: ep.generation });
    this.#emit('connectionCreated', { endpoint: ep.url, connectionId: connection.id });
    this.#emit('connectionReady', { endpoint: ep.url, connectionId: connection.id, durationMs: performance.now() - started });
    // A connection the agent closes while idle is dropped at once rather than discovered at the next NEXT.
    connection.socket.once('close', () => {
      const index = ep.idle.indexOf(connection);
      if (index >= 0) {
        ep.idle.splice(index, 1);
        this.#close(ep, connection, 'stale');
      }
    });
    if (this.#closed) {
      this.#close(ep, connection, 'poolClosed');
      throw new PoolClosedError(ep.url);
    }
    ep.inUse.add(connection);
    return connection;
  }

  #perished(conn: ClientConnection, ep: EndpointPool): ConnectionCloseReason | undefined {
    if (conn.closed) return 'stale';
    if (this.#tracked.get(conn)?.generation !== ep.generation) return 'cleared';
    if (Date.now() - conn.lastUsedAt > this.#options.maxIdleTimeMs) return 'idle';
    return undefined;
  }

  #waitForTurn(ep: EndpointPool, deadline: number, signal: AbortSignal | undefined): Promise<undefined> {
    const expired = (): Error => new WaitQueueTimeoutError(ep.url, this.#options.waitQueueTimeoutMs);
    return withDeadline<undefined>({ timeoutMs: deadline - Date.now(), expired }, signal, (settle) => {
      const waiter: Waiter = { wake: () => settle.resolve(undefined), fail: (err) => settle.reject(err) };
      ep.waiters.push(waiter);
      return (failure) => {
        if (failure === undefined) return;
        const index = ep.waiters.indexOf(waiter);
        if (index >= 0) ep.waiters.splice(index, 1);
      };
    });
  }

  /** Gives a connection back after a fully successful exchange. */
  checkIn(connection: ClientConnection): void {
    const tracked = this.#tracked.get(connection);
    if (tracked === undefined) return;
    const ep = tracked.endpoint;
    if (!ep.inUse.delete(connection)) return;
    this.#emit('connectionCheckedIn', { endpoint: ep.url, connectionId: connection.id });
    const perished = this.#closed ? 'poolClosed' : this.#perished(connection, ep);
    if (perished !== undefined) {
      this.#close(ep, connection, perished);
    } else {
      connection.lastUsedAt = Date.now();
      ep.idle.push(connection);
      while (ep.idle.length > this.#options.maxIdlePerEndpoint) this.#close(ep, ep.idle.shift()!, 'excess');
      // One timer per connection, re-armed at each check-in (rather than a new timer each time).
      if (tracked.idleTimer === undefined) {
        tracked.idleTimer = setTimeout(() => {
          const index = ep.idle.indexOf(connection);
          if (index < 0) return;
          ep.idle.splice(index, 1);
          this.#close(ep, connection, 'idle');
        }, this.#options.maxIdleTimeMs);
        tracked.idleTimer.unref();
      } else {
        tracked.idleTimer.refresh();
      }
    }
    ep.wakeOne();
    this.#notifyDrain();
  }

  /** Throws a connection away after an error or an abort (never reused). */
  discard(connection: ClientConnection, reason: ConnectionCloseReason, error?: Error, force = true): void {
    const tracked = this.#tracked.get(connection);
    if (tracked === undefined) {
      connection.destroy(error);
      return;
    }
    const ep = tracked.endpoint;
    if (!ep.inUse.delete(connection)) return;
    this.#close(ep, connection, reason, error, force);
    ep.wakeOne();
    this.#notifyDrain();
  }

  /** Closes the endpoint's idle connections and makes every older connection perish when it comes back. */
  clear(key: string): void {
    const ep = this.#endpoints.get(key);
    if (ep === undefined) return;
    ep.generation++;
    for (const conn of ep.idle.splice(0)) this.#close(ep, conn, 'cleared');
    this.#emit('poolCleared', { endpoint: ep.url, generation: ep.generation });
    debug('cleared pool for %s (generation %d)', ep.url, ep.generation);
  }

  #close(ep: EndpointPool, conn: ClientConnection, reason: ConnectionCloseReason, error?: Error, force = false): void {
    const tracked = this.#tracked.get(conn);
    if (tracked !== undefined) clearTimeout(tracked.idleTimer);
    // A healthy connection is ended politely (END); a broken or busy one is destroyed.
    if (force || reason === 'error' || reason === 'aborted' || reason === 'stale') conn.destroy(error);
    else void conn.end();
    this.#emit('connectionClosed', { endpoint: ep.url, connectionId: conn.id, reason, ...(error === undefined ? {} : { error }) });
    publishConnectionClosed(ep.url, conn.id, reason, error);
  }

  /** True when no connection is in use or being opened. */
  get idleOnly(): boolean {
    for (const ep of this.#endpoints.values()) if (ep.inUse.size > 0 || ep.connecting > 0) return false;
    return true;
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
   * Connections in use are closed when they come back.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const ending: Array<Promise<void>> = [];
    for (const ep of this.#endpoints.values()) {
      for (const w of [...ep.waiters]) w.fail(new PoolClosedError(ep.url));
      for (const conn of ep.idle.splice(0)) {
        const tracked = this.#tracked.get(conn);
        if (tracked !== undefined) clearTimeout(tracked.idleTimer);
        ending.push(conn.end());
        this.#emit('connectionClosed', { endpoint: ep.url, connectionId: conn.id, reason: 'poolClosed' });
        publishConnectionClosed(ep.url, conn.id, 'poolClosed');
      }
    }
    await Promise.all(ending);
  }

  /** Destroys every connection in use and stops every attempt to open one (when closing must not wait). */
  destroyInUse(error: Error): void {
    for (const ep of this.#endpoints.values()) {
      for (const attempt of ep.attempts) attempt.abort(error);
      for (const conn of [...ep.inUse]) this.discard(conn, 'poolClosed', error);
    }
  }
}
