/**
 * The client: calls methods on listening agents over pooled, pinned, mutually authenticated TLS connections.
 */
import createDebug from 'debug';
import { toIdentity } from '../certificates/identity.js';
import type { CertificateIdentity } from '../certificates/identity.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { ClientConnection } from '../protocol/client-connection.js';
import { Guid, Int32, TimeSpan } from '../protocol/dotnet-values.js';
import type { RequestMessage } from '../protocol/message-codec.js';
import { RemoteError, remoteErrorFrom } from '../protocol/remote-errors.js';
import { secureSocket } from '../transport/tls.js';
import { dialTcp, type Dialer } from '../transport/tcp.js';
import { resolveEndpoint, type Endpoint, type ResolvedEndpoint } from './endpoint.js';
import { CallAbortedError, ClientClosedError } from './errors.js';
import { resolveOptions, type HalibutClientOptions, type ResolvedClientOptions } from './options.js';
import { createServiceProxy, type ServiceProxy } from './service-proxy.js';

const debug = createDebug('halibut:client');

/** Reads the flag through a call so that TypeScript does not narrow it across awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** What to call: the service's interface name and the method's .NET (synchronous) name. */
export interface CallRequest {
  /** e.g. `IScriptServiceV2` (no namespace). */
  service: string;
  /** e.g. `StartScript` (without an `Async` suffix). */
  method: string;
  /** Arguments in order; see the value mapping in docs/values.md. */
  params?: readonly unknown[];
}

export interface CallOptions {
  /** Cancels the call. After the request has started the agent may still run it (there is no cancel message). */
  signal?: AbortSignal;
}

export class HalibutClient {
  readonly #identity: CertificateIdentity;
  readonly #options: ResolvedClientOptions;
  readonly #pool: ConnectionPool;
  readonly #dialer: Dialer;
  #closed = false;
  #callCounter = 0;

  constructor(options: HalibutClientOptions) {
    if (options === null || typeof options !== 'object' || options.certificate === undefined) {
      throw new TypeError('HalibutClient needs { certificate }: the client certificate the agent trusts');
    }
    this.#identity = toIdentity(options.certificate);
    this.#options = resolveOptions(options);
    this.#dialer = options.dialer ?? dialTcp;
    this.#pool = new ConnectionPool({
      maxIdlePerEndpoint: this.#options.maxIdlePerEndpoint,
      maxIdleTimeMs: this.#options.maxIdleTimeMs,
    });
  }

  /** The SHA-1 thumbprint of the client certificate: what an agent must trust. */
  get thumbprint(): string {
    return this.#identity.thumbprint;
  }

  /**
   * Calls a method and returns its result: JS values for primitives, objects that keep their `$type`, `null` for
   * `void`, and {@link DataStream}s whose bodies are read from the connection when consumed.
   * A remote failure rejects with a {@link RemoteError} subclass.
   */
  async call(endpoint: Endpoint, request: CallRequest, options: CallOptions = {}): Promise<unknown> {
    if (this.#closed) throw new ClientClosedError();
    const ep = resolveEndpoint(endpoint);
    const { signal } = options;
    if (aborted(signal)) throw new CallAbortedError(ep.url, false, signal?.reason);
    const message = this.#requestMessage(ep, request);

    let lease;
    try {
      lease = await this.#pool.acquire(ep.key, (s) => this.#open(ep, s), signal);
    } catch (err) {
      if (aborted(signal)) throw new CallAbortedError(ep.url, false, signal?.reason);
      throw err;
    }
    const connection = lease.connection;
    let started = false;
    const onAbort = (): void => this.#pool.discard(connection, new CallAbortedError(ep.url, started, signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { response, incoming } = await connection.exchange(message, () => {
        started = true;
      });
      if (incoming.streams.length === 0) {
        connection.lastUsedAt = Date.now();
        this.#pool.release(connection);
      } else {
        this.#releaseWhenRead(connection, incoming);
      }
      if (response.error !== null) throw remoteErrorFrom(response.error, { endpoint: ep.url, service: request.service, method: request.method });
      return response.result;
    } catch (err) {
      if (aborted(signal)) {
        this.#pool.discard(connection);
        throw new CallAbortedError(ep.url, started, signal?.reason);
      }
      // A remote error ends a complete exchange: the connection was already released.
      if (!(err instanceof RemoteError)) this.#pool.discard(connection, err as Error);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A typed proxy whose methods call `service` on `endpoint`. */
  service<T>(endpoint: Endpoint, service: string, options: CallOptions = {}): ServiceProxy<T> {
    resolveEndpoint(endpoint);
    return createServiceProxy<T>((method, params) => this.call(endpoint, { service, method, params }, options));
  }

  /** Connections per endpoint: idle in the pool and in use by a call. */
  stats(endpoint: Endpoint): { idle: number; inUse: number } {
    return this.#pool.stats(resolveEndpoint(endpoint).key);
  }

  /** Ends every pooled connection (with END). Calls made afterwards fail with {@link ClientClosedError}. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #requestMessage(ep: ResolvedEndpoint, request: CallRequest): RequestMessage {
    if (typeof request?.service !== 'string' || request.service.length === 0) throw new TypeError('A call needs a service name');
    if (typeof request.method !== 'string' || request.method.length === 0) throw new TypeError('A call needs a method name');
    const activityId = Guid.random();
    const o = this.#options;
    return {
      id: `${request.service}::${request.method}[${++this.#callCounter}] / ${activityId.toString()}`,
      activityId,
      // The shape Halibut 4.4.8 writes. The proxy is never described here: Halibut would put its password in it.
      endpoint: {
        PollingRequestQueueTimeout: '00:02:00',
        PollingRequestMaximumMessageProcessingTimeout: '00:10:00',
        RetryListeningSleepInterval: '00:00:01',
        RetryCountLimit: new Int32(5),
        ConnectionErrorRetryTimeout: '00:05:00',
        TcpClientConnectTimeout: TimeSpan.fromMilliseconds(o.connectTimeoutMs).toString(),
        BaseUri: ep.url,
        RemoteThumbprint: ep.pins[0] ?? null,
        Proxy: null,
        IsWebSocketEndpoint: false,
      },
      service: request.service,
      method: request.method,
      params: [...(request.params ?? [])],
    };
  }

  async #open(ep: ResolvedEndpoint, signal: AbortSignal | undefined): Promise<ClientConnection> {
    const o = this.#options;
    debug('connecting to %s', ep.url);
    const raw = await this.#dialer({ host: ep.host, port: ep.port }, { connectTimeoutMs: o.connectTimeoutMs, signal });
    const tls = await secureSocket(raw, {
      cert: this.#identity.cert,
      key: this.#identity.key,
      pins: ep.pins,
      host: ep.host,
      endpoint: ep.url,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      signal,
    });
    const connection = new ClientConnection(tls, {
      endpoint: ep.url,
      clientThumbprint: this.#identity.thumbprint,
      timeouts: {
        identificationMs: o.handshakeTimeoutMs,
        heartbeatMs: o.heartbeatTimeoutMs,
        responseMs: o.responseTimeoutMs,
        readMs: o.readTimeoutMs,
      },
      maxMessageBytes: o.maxMessageBytes,
      maxDepth: o.maxDepth,
      compressionLevel: o.compressionLevel,
    });
    const onAbort = (): void => connection.destroy(signal?.reason instanceof Error ? signal.reason : new Error('Aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await connection.identify();
      debug('connection %d to %s identified (%s)', connection.id, ep.url, tls.getProtocol());
      return connection;
    } catch (err) {
      connection.destroy();
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A response's data streams are still on the connection: it goes back to the pool once they have been read, and
   * is closed if they are not read within the read timeout (an unread stream would pin the connection forever).
   */
  #releaseWhenRead(connection: ClientConnection, incoming: { settled: Promise<void>; done: boolean; abort(e: Error): void }): void {
    const guard = setTimeout(() => {
      if (!incoming.done) {
        const err = new Error('The response data streams were not read within the read timeout; the connection was closed');
        incoming.abort(err);
        this.#pool.discard(connection, err);
      }
    }, this.#options.readTimeoutMs);
    guard.unref();
    incoming.settled.then(
      () => {
        clearTimeout(guard);
        connection.lastUsedAt = Date.now();
        this.#pool.release(connection);
      },
      (err: unknown) => {
        clearTimeout(guard);
        this.#pool.discard(connection, err instanceof Error ? err : undefined);
      },
    );
  }
}
