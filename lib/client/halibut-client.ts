/**
 * The client: calls methods on listening agents over pooled, pinned, mutually authenticated TLS connections.
 */
import createDebug from 'debug';
import { toIdentity } from '../certificates/identity.js';
import type { CertificateIdentity } from '../certificates/identity.js';
import { EventEmitter } from 'eventemitter3';
import pRetry, { AbortError } from 'p-retry';
import { CertificateMismatchError } from '../certificates/pinning.js';
import { syncCallLog } from '../diagnostics/call-log.js';
import {
  callProgress,
  publishCallRetry,
  publishConnectionClosed,
  publishConnectionIdentified,
  publishConnectionOpened,
  traceCall,
  type CallProgress,
} from '../diagnostics/channels.js';
import { HalibutError } from '../errors.js';
import { ConnectionPool, type EndpointStats, type Lease } from '../pool/connection-pool.js';
import type { IncomingStreams } from '../protocol/data-stream-wire.js';
import { DataStreamError } from '../protocol/errors.js';
import { ClientConnection } from '../protocol/client-connection.js';
import { Guid } from '../protocol/dotnet-values.js';
import { describeEndpoint } from '../protocol/endpoint-description.js';
import type { RequestMessage } from '../protocol/message-codec.js';
import { RemoteError, remoteErrorFrom } from '../protocol/remote-errors.js';
import { secureSocket } from '../transport/tls.js';
import { proxyDialer } from '../transport/proxy/proxy-dialer.js';
import { parseProxy, type ProxyOption } from '../transport/proxy/proxy-settings.js';
import { dialTcp, type Dialer } from '../transport/tcp.js';
import { resolveEndpoint, type Endpoint, type ResolvedEndpoint } from './endpoint.js';
import { CallAbortedError, ClientClosedError } from './errors.js';
import { resolveOptions, type HalibutClientOptions, type ResolvedClientOptions } from './options.js';
import type { CallEvent, ClientEvents } from './client-events.js';
import { isInitializationFailure, isRetryableBeforeRequest, resolveRetry, RETRY_DEFAULTS, type ResolvedRetryOptions, type RetryOptions } from './retry.js';
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
  /** Overrides the client's retry options for this call; `false` to never retry. */
  retry?: RetryOptions | false;
}

export class HalibutClient extends EventEmitter<ClientEvents> {
  readonly #identity: CertificateIdentity;
  readonly #options: ResolvedClientOptions;
  readonly #retry: ResolvedRetryOptions;
  readonly #pool: ConnectionPool;
  readonly #dialer: Dialer | undefined;
  readonly #proxy: ProxyOption;
  readonly #proxyCa: HalibutClientOptions['proxyCa'];
  readonly #lookup: HalibutClientOptions['lookup'];
  #closed = false;
  /** Fires on close, so that calls waiting between connection attempts stop waiting. */
  readonly #closing = new AbortController();
  #callCounter = 0;
  /** Endpoints already resolved, with what they were resolved from. */
  readonly #resolved = new WeakMap<Endpoint, { url: string; proxy: ProxyOption | undefined; thumbprint: string | readonly string[]; resolved: ResolvedEndpoint }>();
  /** The last endpoint description built for each resolved endpoint, with the retry settings it describes. */
  readonly #descriptions = new WeakMap<ResolvedEndpoint, { attempts: number; delayMs: number; windowMs: number; description: Record<string, unknown> }>();

  constructor(options: HalibutClientOptions) {
    super();
    if (options === null || typeof options !== 'object' || options.certificate === undefined) {
      throw new TypeError('HalibutClient needs { certificate }: the client certificate the agent trusts');
    }
    this.#identity = toIdentity(options.certificate);
    this.#options = resolveOptions(options);
    this.#retry = resolveRetry(RETRY_DEFAULTS, options.retry);
    this.#dialer = options.dialer;
    this.#proxy = options.proxy ?? false;
    this.#proxyCa = options.proxyCa;
    this.#lookup = options.lookup;
    // Fail on a malformed proxy option now rather than at the first call.
    if (this.#proxy !== false && this.#proxy !== 'env') parseProxy(this.#proxy);
    this.#pool = new ConnectionPool(
      {
        maxConnectionsPerEndpoint: this.#options.maxConnectionsPerEndpoint,
        maxIdlePerEndpoint: this.#options.maxIdlePerEndpoint,
        maxIdleTimeMs: this.#options.maxIdleTimeMs,
        waitQueueTimeoutMs: this.#options.waitQueueTimeoutMs,
      },
      // The pool's event map is part of the client's; the generic spread is beyond TypeScript's inference.
      ((event: keyof ClientEvents, ...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args)),
    );
  }

  /** The SHA-1 thumbprint of the client certificate: what an agent must trust. */
  get thumbprint(): string {
    return this.#identity.thumbprint;
  }

  /**
   * Calls a method and returns its result: JS values for primitives, objects that keep their `$type`, `null` for
   * `void`, and {@link DataStream}s whose bodies are read from the connection when consumed.
   *
   * Failures while connecting are retried (see {@link RetryOptions}); nothing is retried once the request has
   * started to go out. A remote failure rejects with a {@link RemoteError} subclass.
   */
  call(endpoint: Endpoint, request: CallRequest, options: CallOptions = {}): Promise<unknown> {
    syncCallLog();
    let ep: ResolvedEndpoint, retry: ResolvedRetryOptions, message: RequestMessage;
    try {
      if (this.#closed) throw new ClientClosedError();
      ep = this.#resolve(endpoint);
      retry = options.retry === undefined ? this.#retry : resolveRetry(this.#retry, options.retry);
      message = this.#requestMessage(ep, request, retry);
    } catch (err) {
      // Everything thrown above is an Error (a TypeError for bad input, or ClientClosedError).
      const error = err as Error;
      return Promise.reject(error);
    }
    // Not async itself, so that an untraced call's promise is #run's own (no extra promise in between).
    const progress = callProgress(ep, message.service, message.method, message.id);
    return traceCall(progress, this.#run, this, ep, message, retry, options.signal, progress);
  }

  async #run(ep: ResolvedEndpoint, message: RequestMessage, retry: ResolvedRetryOptions, signal: AbortSignal | undefined, progress: CallProgress): Promise<unknown> {
    const event: CallEvent = { endpoint: ep.url, service: message.service, method: message.method, callId: message.id };
    const started = performance.now();
    this.emit('callStarted', event);
    try {
      if (aborted(signal)) throw new CallAbortedError(ep.url, false, signal?.reason);
      const result = await this.#exchange(ep, message, retry, signal, progress);
      // The event's fields written out rather than spread: a spread copy is the slower way to build the same object.
      const { endpoint: url, service, method, callId } = event;
      this.emit('callSucceeded', { endpoint: url, service, method, callId, durationMs: performance.now() - started });
      return result;
    } catch (err) {
      const error = this.#finalError(err, ep, signal, progress, performance.now() - started);
      const { endpoint: url, service, method, callId } = event;
      this.emit('callFailed', { endpoint: url, service, method, callId, durationMs: performance.now() - started, error });
      throw error;
    }
  }

  async #exchange(
    ep: ResolvedEndpoint,
    message: RequestMessage,
    retry: ResolvedRetryOptions,
    signal: AbortSignal | undefined,
    progress: CallProgress,
  ): Promise<unknown> {
    const lease = await this.#checkOut(ep, message.id, retry, signal, progress);
    const connection = lease.connection;
    const onAbort = signal === undefined ? undefined : this.#discardOnAbort(connection, ep, signal, progress);
    try {
      const { response, incoming } = await connection.exchange(message, () => {
        progress.requestStarted = true;
      });
      if (incoming.streams.length === 0) this.#pool.checkIn(connection);
      else this.#checkInWhenRead(connection, incoming);
      if (response.error !== null) throw remoteErrorFrom(response.error, { endpoint: ep.url, service: message.service, method: message.method });
      return response.result;
    } catch (err) {
      // A remote error ends a complete exchange: the connection was already checked in.
      if (!(err instanceof RemoteError)) this.#pool.discard(connection, aborted(signal) ? 'aborted' : 'error', err instanceof Error ? err : undefined);
      throw err;
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Throws the connection away when the call's signal fires; returns the listener, to be removed afterwards. */
  #discardOnAbort(connection: ClientConnection, ep: ResolvedEndpoint, signal: AbortSignal, progress: { requestStarted: boolean }): () => void {
    const onAbort = (): void => this.#pool.discard(connection, 'aborted', new CallAbortedError(ep.url, progress.requestStarted, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    return onAbort;
  }

  /**
   * Checks a connection out, retrying failures that happen before the request begins.
   *
   * The first attempt runs on its own: it usually succeeds at once (a pooled connection), and the retry machinery
   * (p-retry, a combined abort signal) costs more than the rest of the call. Only when it fails with something worth
   * retrying does p-retry take over, starting from that failure as its own first attempt, with the time already spent
   * taken off its time budget, so that attempts, waits, events and errors are the same as with p-retry from the start.
   */
  async #checkOut(
    ep: ResolvedEndpoint,
    callId: string,
    retry: ResolvedRetryOptions,
    signal: AbortSignal | undefined,
    progress: CallProgress,
  ): Promise<Lease> {
    const failures = { initialization: 0 };
    const closing = this.#closing.signal;
    const started = performance.now();
    let lease: Lease | undefined;
    let firstFailure: unknown;
    try {
      lease = await this.#attempt(ep, signal, progress, failures);
    } catch (err) {
      if (err instanceof AbortError) throw err.originalError;
      firstFailure = err;
    }
    if (lease !== undefined) {
      // As p-retry does after an attempt: an abort (or close) that came meanwhile fails the call.
      if (aborted(signal) || closing.aborted) {
        this.#pool.discard(lease.connection, 'aborted');
        throw aborted(signal) ? signal?.reason : closing.reason;
      }
      return lease;
    }
    const retrySignal = signal === undefined ? closing : AbortSignal.any([signal, closing]);
    // p-retry looks at its signal on entry, before the failure it is handed; the failed attempt had long started by
    // then, so the signal is passed on from here on.
    const gate = new AbortController();
    let replayed = false;
    const retried = pRetry(
      async () => {
        if (replayed) return this.#attempt(ep, signal, progress, failures);
        replayed = true;
        throw firstFailure;
      },
      {
        retries: retry.attempts - 1,
        factor: retry.factor,
        minTimeout: retry.delayMs,
        maxTimeout: retry.maxDelayMs,
        randomize: retry.jitter,
        maxRetryTime: Math.max(0, retry.maxRetryTimeMs - (performance.now() - started)),
        // The wait between attempts keeps the process alive (a script awaiting a call must not exit mid-retry);
        // closing the client ends it.
        signal: gate.signal,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          debug('attempt %d to reach %s failed: %s', attemptNumber, ep.url, error.message);
          if (retriesLeft > 0) this.emit('retryScheduled', { endpoint: ep.url, callId, attempt: attemptNumber, retriesLeft, error });
          if (retriesLeft > 0) publishCallRetry(progress, ep.url, callId, attemptNumber, retriesLeft, error);
        },
      },
    );
    const forward = (): void => gate.abort(retrySignal.reason);
    if (retrySignal.aborted) forward();
    else retrySignal.addEventListener('abort', forward, { once: true });
    try {
      return await retried;
    } finally {
      retrySignal.removeEventListener('abort', forward);
    }
  }

  /** One attempt to check a connection out; failures not worth retrying come out wrapped in p-retry's AbortError. */
  async #attempt(ep: ResolvedEndpoint, signal: AbortSignal | undefined, progress: CallProgress, failures: { initialization: number }): Promise<Lease> {
    progress.attempts++;
    try {
      return await this.#pool.checkOut(ep.key, ep.url, (s) => this.#open(ep, s, progress), signal);
    } catch (err) {
      // A pin failure or repeated failures to initialise make every pooled connection to the endpoint suspect.
      if (err instanceof CertificateMismatchError || (isInitializationFailure(err) && ++failures.initialization === 2)) this.#pool.clear(ep.key);
      if (aborted(signal) || !isRetryableBeforeRequest(err)) throw new AbortError(err as Error);
      throw err;
    }
  }

  /** Turns whatever ended a call into the error the caller sees, saying how far it got. */
  #finalError(err: unknown, ep: ResolvedEndpoint, signal: AbortSignal | undefined, progress: CallProgress, elapsedMs: number): Error {
    if (err instanceof RemoteError) return err;
    let error: unknown = err;
    if (aborted(signal) && !(error instanceof CallAbortedError)) error = new CallAbortedError(ep.url, progress.requestStarted, signal?.reason);
    if (!(error instanceof Error)) return new Error(String(error));
    if (error instanceof HalibutError) {
      error.connectionState = progress.requestStarted ? 'unknown' : 'connecting';
      error.attempts = progress.attempts;
      error.elapsedMs = Math.round(elapsedMs);
      const attempts = progress.attempts === 1 ? '1 attempt' : `${progress.attempts} attempts`;
      error.message += progress.requestStarted
        ? ` [the request had started: the agent may have run it]`
        : ` [${attempts} over ${(elapsedMs / 1000).toFixed(1)} s; the request never reached the agent]`;
    }
    return error;
  }

  /** A typed proxy whose methods call `service` on `endpoint`. */
  service<T>(endpoint: Endpoint, service: string, options: CallOptions = {}): ServiceProxy<T> {
    this.#resolve(endpoint);
    return createServiceProxy<T>((method, params) => this.call(endpoint, { service, method, params }, options));
  }

  /** Connections to an endpoint: open, idle, in use, being opened, and calls waiting for one. */
  stats(endpoint: Endpoint): EndpointStats {
    return this.#pool.stats(this.#resolve(endpoint).key);
  }

  /**
   * Closes the endpoint's idle connections and retires the ones in use when they come back (e.g. after the agent's
   * certificate or trust changed). Later calls open fresh connections.
   */
  clear(endpoint: Endpoint): void {
    this.#pool.clear(this.#resolve(endpoint).key);
  }

  /**
   * Closes the client: new calls fail with {@link ClientClosedError}, calls waiting for a connection fail, idle
   * connections are ended with END, and calls in flight are awaited. If `signal` fires first, the connections still
   * in use are destroyed (those calls fail) and close resolves. Afterwards no socket or timer is left behind.
   */
  async close(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#closed = true;
    this.#closing.abort(new ClientClosedError());
    await this.#pool.close();
    const { signal } = options;
    if (signal === undefined) {
      await this.#pool.drained();
      return;
    }
    const onAbort = (): void => this.#pool.destroyInUse(new ClientClosedError());
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.#pool.drained();
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Resolves an endpoint, remembering the result per endpoint object for as long as its url, thumbprint(s) and proxy
   * stay the same. Endpoints whose proxy comes from the environment, or is an object, are resolved every time.
   */
  #resolve(endpoint: Endpoint): ResolvedEndpoint {
    const cached = typeof endpoint === 'object' && endpoint !== null ? this.#resolved.get(endpoint) : undefined;
    if (cached !== undefined && cached.url === endpoint.url && cached.proxy === endpoint.proxy && samePins(cached.thumbprint, endpoint.thumbprint)) {
      return cached.resolved;
    }
    const resolved = resolveEndpoint(endpoint, this.#proxy);
    const proxy = endpoint.proxy ?? this.#proxy;
    if (proxy !== 'env' && typeof proxy !== 'object') {
      const { thumbprint } = endpoint;
      this.#resolved.set(endpoint, { url: endpoint.url, proxy: endpoint.proxy, thumbprint: typeof thumbprint === 'string' ? thumbprint : [...thumbprint], resolved });
    }
    return resolved;
  }

  #requestMessage(ep: ResolvedEndpoint, request: CallRequest, retry: ResolvedRetryOptions): RequestMessage {
    if (typeof request?.service !== 'string' || request.service.length === 0) throw new TypeError('A call needs a service name');
    if (typeof request.method !== 'string' || request.method.length === 0) throw new TypeError('A call needs a method name');
    const activityId = Guid.random();
    return {
      id: `${request.service}::${request.method}[${++this.#callCounter}] / ${activityId.toString()}`,
      activityId,
      endpoint: this.#describe(ep, retry),
      service: request.service,
      method: request.method,
      params: [...(request.params ?? [])],
    };
  }

  /** The request's endpoint description; the same object for every call with the same endpoint and retry settings. */
  #describe(ep: ResolvedEndpoint, retry: ResolvedRetryOptions): Record<string, unknown> {
    const cached = this.#descriptions.get(ep);
    if (cached !== undefined && cached.attempts === retry.attempts && cached.delayMs === retry.delayMs && cached.windowMs === retry.maxRetryTimeMs) {
      return cached.description;
    }
    const description = describeEndpoint({
      url: ep.url,
      thumbprint: ep.pins[0],
      connectTimeoutMs: this.#options.connectTimeoutMs,
      retryAttempts: retry.attempts,
      retryDelayMs: retry.delayMs,
      retryWindowMs: retry.maxRetryTimeMs,
    });
    this.#descriptions.set(ep, { attempts: retry.attempts, delayMs: retry.delayMs, windowMs: retry.maxRetryTimeMs, description });
    return description;
  }

  async #open(ep: ResolvedEndpoint, signal: AbortSignal | undefined, progress: CallProgress): Promise<ClientConnection> {
    const o = this.#options;
    debug('connecting to %s', ep.url);
    const dialStarted = performance.now();
    const dial = this.#dialer ?? (ep.proxy === undefined ? dialTcp : proxyDialer(ep.proxy, { proxyCa: this.#proxyCa }));
    const raw = await dial({ host: ep.host, port: ep.port }, { connectTimeoutMs: o.connectTimeoutMs, signal, lookup: this.#lookup });
    const tlsStarted = performance.now();
    const tls = await secureSocket(raw, {
      cert: this.#identity.cert,
      key: this.#identity.key,
      pins: ep.pins,
      host: ep.host,
      endpoint: ep.url,
      via: ep.proxy === undefined ? undefined : `through proxy ${ep.proxy.display}`,
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
    publishConnectionOpened(ep.url, connection.id, tls, ep.proxy?.display, { dialStarted, tlsStarted }, progress);
    const onAbort = (): void => connection.destroy(signal?.reason instanceof Error ? signal.reason : new Error('Aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const identifyStarted = performance.now();
    try {
      await connection.identify();
      debug('connection %d to %s identified (%s)', connection.id, ep.url, tls.getProtocol());
      publishConnectionIdentified(ep.url, connection.id, { dialStarted, identifyStarted }, progress);
      return connection;
    } catch (err) {
      connection.destroy();
      publishConnectionClosed(ep.url, connection.id, aborted(signal) ? 'aborted' : 'error', err as Error);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A response's data streams are still on the connection: it goes back to the pool once they have been read, and
   * is closed if they are not read within the read timeout (an unread stream would pin the connection forever).
   */
  #checkInWhenRead(connection: ClientConnection, incoming: IncomingStreams): void {
    const guard = setTimeout(() => {
      // Once reading has started, the read deadlines govern; this only catches streams nobody touches.
      if (!incoming.started && !incoming.done) {
        const err = new DataStreamError(`The response's data streams were not read within ${this.#options.readTimeoutMs} ms; the connection was closed`);
        incoming.abort(err);
      }
    }, this.#options.readTimeoutMs);
    guard.unref();
    incoming.settled.then(
      () => {
        clearTimeout(guard);
        this.#pool.checkIn(connection);
      },
      (err: unknown) => {
        clearTimeout(guard);
        this.#pool.discard(connection, 'error', err instanceof Error ? err : undefined);
      },
    );
  }
}

function samePins(cached: string | readonly string[], current: string | readonly string[]): boolean {
  if (typeof cached === 'string' || typeof current === 'string') return cached === current;
  if (cached.length !== current.length) return false;
  for (let i = 0; i < cached.length; i++) if (cached[i] !== current[i]) return false;
  return true;
}
