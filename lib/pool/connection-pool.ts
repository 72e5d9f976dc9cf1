/**
 * Keeps identified connections per endpoint so that later calls skip TCP, TLS and identification.
 *
 * A connection is offered for reuse only after a fully successful exchange, and is checked with NEXT/PROCEED before
 * it carries another request; one that fails that check was stale (the agent or a firewall dropped it while idle)
 * and is replaced at once. Idle connections are used last-in-first-out so that extras age out, and are closed
 * before the agent's own idle cutoff (current Tentacles drop a connection that sees no NEXT within 60 s).
 */
import createDebug from 'debug';
import type { ClientConnection } from '../protocol/client-connection.js';

const debug = createDebug('halibut:pool');

export interface PoolOptions {
  /** Idle connections kept per endpoint. Default 5, as Halibut. */
  maxIdlePerEndpoint: number;
  /** An idle connection older than this is closed instead of reused. Default 50 s. */
  maxIdleTimeMs: number;
}

/** Opens a new, identified connection for an endpoint key. */
export type ConnectionFactory = (signal: AbortSignal | undefined) => Promise<ClientConnection>;

export interface Lease {
  connection: ClientConnection;
  /** True when the connection was just opened (not taken from the pool). */
  fresh: boolean;
}

export class ConnectionPool {
  readonly #options: PoolOptions;
  readonly #idle = new Map<string, ClientConnection[]>();
  readonly #timers = new Map<ClientConnection, NodeJS.Timeout>();
  readonly #inUse = new Set<ClientConnection>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Counts per endpoint key, for diagnostics and tests. */
  stats(key: string): { idle: number; inUse: number } {
    let inUse = 0;
    for (const c of this.#inUse) if (keyOf(c) === key) inUse++;
    return { idle: this.#idle.get(key)?.length ?? 0, inUse };
  }

  /**
   * Returns a connection ready for a request: a pooled one that answered NEXT with PROCEED, or a new one.
   */
  async acquire(key: string, open: ConnectionFactory, signal?: AbortSignal): Promise<Lease> {
    if (this.#closed) throw new Error('The connection pool is closed');
    const idle = this.#idle.get(key) ?? [];
    for (let conn = idle.pop(); conn !== undefined; conn = idle.pop()) {
      this.#clearTimer(conn);
      if (conn.closed || Date.now() - conn.lastUsedAt > this.#options.maxIdleTimeMs) {
        debug('discarding idle connection %d (%s)', conn.id, conn.closed ? 'closed' : 'expired');
        void conn.end();
        continue;
      }
      this.#inUse.add(conn);
      keys.set(conn, key);
      try {
        signal?.throwIfAborted();
        await conn.heartbeat();
        debug('reusing connection %d for %s', conn.id, key);
        return { connection: conn, fresh: false };
      } catch (err) {
        this.#inUse.delete(conn);
        conn.destroy();
        if (signal?.aborted === true) throw err;
        debug('pooled connection %d was stale: %s', conn.id, (err as Error).message);
      }
    }
    const connection = await open(signal);
    keys.set(connection, key);
    // A connection the agent closes while idle is dropped at once rather than discovered at the next NEXT.
    connection.socket.once('close', () => this.#evict(key, connection));
    if (this.#closed) {
      void connection.end();
      throw new Error('The connection pool is closed');
    }
    this.#inUse.add(connection);
    return { connection, fresh: true };
  }

  /** Gives a connection back after a fully successful exchange. */
  release(connection: ClientConnection): void {
    this.#inUse.delete(connection);
    const key = keyOf(connection);
    if (this.#closed || connection.closed || key === undefined) {
      void connection.end();
      return;
    }
    connection.lastUsedAt = Date.now();
    const idle = this.#idle.get(key) ?? [];
    this.#idle.set(key, idle);
    idle.push(connection);
    while (idle.length > this.#options.maxIdlePerEndpoint) {
      const oldest = idle.shift()!;
      this.#clearTimer(oldest);
      void oldest.end();
    }
    const timer = setTimeout(() => this.#evict(key, connection), this.#options.maxIdleTimeMs);
    timer.unref();
    this.#timers.set(connection, timer);
  }

  /** Throws a connection away after an error (never reused). */
  discard(connection: ClientConnection, reason?: Error): void {
    this.#inUse.delete(connection);
    connection.destroy(reason);
  }

  #evict(key: string, connection: ClientConnection): void {
    const idle = this.#idle.get(key);
    const index = idle?.indexOf(connection) ?? -1;
    if (idle === undefined || index < 0) return;
    idle.splice(index, 1);
    if (idle.length === 0) this.#idle.delete(key);
    this.#clearTimer(connection);
    void connection.end();
  }

  #clearTimer(connection: ClientConnection): void {
    const t = this.#timers.get(connection);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(connection);
  }

  /** Ends every idle connection; connections in use are closed when they come back. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#idle.values()].flat();
    this.#idle.clear();
    for (const c of all) this.#clearTimer(c);
    await Promise.all(all.map((c) => c.end()));
  }
}

const keys = new WeakMap<ClientConnection, string>();
function keyOf(connection: ClientConnection): string | undefined {
  return keys.get(connection);
}
