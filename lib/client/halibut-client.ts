/**
 * The client: calls methods on listening agents over pooled, pinned, mutually authenticated TLS connections.
 *
 * A short composition: a {@link Connector} opens connections, the {@link ConnectionPool} keeps them, and each call
 * is a {@link CallAttempt} that takes one from the pool, sends the request and makes the error it may fail with.
 */
import { EventEmitter } from 'eventemitter3';
import type { CertificateIdentity } from '../certificates/identity.js';
import { syncCallLog } from '../diagnostics/call-log.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import type { EndpointStats, PoolStats } from '../pool/pool-stats.js';
import type { ClientConnection } from '../protocol/client-connection.js';
import { Guid } from '../protocol/dotnet-values.js';
import type { RequestMessage } from '../protocol/message-codec.js';
import { addAbortListener } from '../util/abort.js';
import { CallAttempt, type CallPath, type ClientEmit } from './call-attempt.js';
import type { ClientEvents } from './client-events.js';
import { Connector } from './connector.js';
import type { Endpoint, ResolvedEndpoint } from './endpoint.js';
import { EndpointCache } from './endpoint-cache.js';
import { ClientClosedError } from './errors.js';
import { resolveClientOptions, type HalibutClientOptions } from './options.js';
import { Probe, type ProbeOutcome } from './probe.js';
import type { ProbeOptions, ProbeReport } from './probe-report.js';
import { resolveRetry, type ResolvedRetryOptions, type RetryOptions } from './retry.js';
import { createServiceProxy, type ServiceProxy } from './service-proxy.js';

/** What to call: the service's interface name and the method's .NET (synchronous) name. */
export interface CallRequest {
  /** e.g. `IScriptServiceV2` (no namespace). */
  service: string;
  /** e.g. `StartScript` (without an `Async` suffix). */
  method: string;
  /** Arguments in order; see the value mapping in docs/values.md. */
  params?: readonly unknown[];
}

/** How one call (or every call of a typed service proxy) is limited and retried. */
export interface CallOptions {
  /** Cancels the call. After the request has started the agent may still run it (there is no cancel message). */
  signal?: AbortSignal;
  /**
   * The longest the call may take, connecting and retries included, until its answer arrives (reading the answer's
   * data streams is not included). When it passes the call fails with {@link CallTimeoutError}. No limit by default
   * (each phase still has its own, see {@link HalibutClientOptions}).
   */
  timeoutMs?: number;
  /** Overrides the client's retry options for this call; `false` to never retry. */
  retry?: RetryOptions | false;
}

/**
 * What a probe asks. No agent has this service: its "service not found" answer shows that the agent reads and
 * answers requests, and nothing runs.
 */
const PROBE_REQUEST: CallRequest = { service: 'IHalibutClientProbe', method: 'Probe' };

/** Calls methods on listening agents; see docs/client.md. */
export class HalibutClient extends EventEmitter<ClientEvents> {
  readonly #identity: CertificateIdentity;
  readonly #retry: ResolvedRetryOptions;
  readonly #pool: ConnectionPool<ClientConnection>;
  readonly #endpoints: EndpointCache;
  readonly #path: CallPath;
  /** How long a probe's request may wait for its answer: as long as NEXT may wait for PROCEED. */
  readonly #probeAnswerMs: number;
  /** Probes under way, so that closing can stop them. */
  readonly #probes = new Map<Probe, Promise<ProbeOutcome>>();
  #closed = false;
  /** Fires on close, so that calls waiting between connection attempts stop waiting. */
  readonly #closing = new AbortController();
  #callCounter = 0;

  /** Checks the options (a mistake fails here, not at the first call) and starts with an empty pool. */
  constructor(options: HalibutClientOptions) {
    super();
    const resolved = resolveClientOptions(options);
    const { limits } = resolved;
    this.#identity = resolved.identity;
    this.#retry = resolved.retry;
    this.#endpoints = new EndpointCache(resolved.proxy, limits.connectTimeoutMs);
    // The pool's event map is part of the client's; the generic spread is beyond TypeScript's inference.
    const emitAny = (event: keyof ClientEvents, ...args: unknown[]): void => {
      (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    };
    const emit = emitAny as ClientEmit;
    this.#pool = new ConnectionPool<ClientConnection>(
      {
        maxConnections: limits.maxConnections,
        maxConnectionsPerEndpoint: limits.maxConnectionsPerEndpoint,
        maxIdlePerEndpoint: limits.maxIdlePerEndpoint,
        maxIdleTimeMs: limits.maxIdleTimeMs,
        waitQueueTimeoutMs: limits.waitQueueTimeoutMs,
      },
      emitAny,
    );
    const connector = new Connector({ identity: this.#identity, limits, dialer: options.dialer, proxyCa: options.proxyCa, lookup: options.lookup });
    this.#path = { pool: this.#pool, connector, emit, closing: this.#closing.signal, readTimeoutMs: limits.readTimeoutMs };
    this.#probeAnswerMs = limits.heartbeatTimeoutMs;
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
   * started to go out. A remote failure rejects with a {@link RemoteError} subclass; running out of `timeoutMs` (or
   * a signal from `AbortSignal.timeout()`) with {@link CallTimeoutError}; any other abort with
   * {@link CallAbortedError}.
   */
  async call(endpoint: Endpoint, request: CallRequest, options: CallOptions = {}): Promise<unknown> {
    syncCallLog();
    if (this.#closed) throw new ClientClosedError();
    const ep = this.#endpoints.resolve(endpoint);
    const retry = options.retry === undefined ? this.#retry : resolveRetry(this.#retry, options.retry);
    const timeoutMs = options.timeoutMs === undefined ? undefined : checkTimeout(options.timeoutMs);
    const attempt = new CallAttempt(this.#path, ep, this.#requestMessage(ep, request, retry), retry, { signal: options.signal, timeoutMs });
    return attempt.run();
  }

  /** A typed proxy whose methods call `service` on `endpoint`, each with `options` (signal, timeoutMs, retry). */
  service<T>(endpoint: Endpoint, service: string, options: CallOptions = {}): ServiceProxy<T> {
    this.#endpoints.resolve(endpoint);
    if (options.timeoutMs !== undefined) checkTimeout(options.timeoutMs);
    return createServiceProxy<T>((method, params) => this.call(endpoint, { service, method, params }, options));
  }

  /**
   * Checks an agent end to end on a connection of its own, and reports what it found: whether it is reachable, the
   * TLS version, the certificate it presents and whether it is the pinned one, whether it speaks Halibut and trusts
   * us, how long each step took, and for a failure the error and a one-line explanation. See docs/client.md.
   *
   * The probe identifies, sends one request to a service no agent has (`IHalibutClientProbe`; its "service not found"
   * answer is the success, and nothing runs on the agent) and ends the connection with END. The connection is never
   * pooled: a probe measures the agent, not the pool, and leaves the pool as it was.
   *
   * Resolves with a report for every failure an agent can cause, timeouts and aborts included (`report.ok` is false
   * and `report.failure` says why). Rejects only for a mistake of the caller's: an invalid endpoint or `timeoutMs`
   * (`TypeError`, `InvalidThumbprintError`), or a client that is closed or closes during the probe
   * ({@link ClientClosedError}).
   */
  async probe(endpoint: Endpoint, options: ProbeOptions = {}): Promise<ProbeReport> {
    return (await this.probeWith(endpoint, PROBE_REQUEST, options)).report;
  }

  /**
   * @internal A probe whose request is `request` instead of the probe service (a Tentacle health check asks for the
   * agent's capabilities), with the agent's answer.
   */
  async probeWith(endpoint: Endpoint, request: CallRequest, options: ProbeOptions): Promise<ProbeOutcome> {
    if (this.#closed) throw new ClientClosedError();
    const ep = this.#endpoints.resolve(endpoint);
    if (options === null || typeof options !== 'object') throw new TypeError('Probe options must be an object: { signal?, timeoutMs? }');
    if (options.timeoutMs !== undefined) checkTimeout(options.timeoutMs);
    const probe = new Probe(this.#path.connector, ep, this.#requestMessage(ep, request, this.#retry), options, this.#probeAnswerMs);
    const running = probe.run();
    this.#probes.set(probe, running);
    try {
      return await running;
    } finally {
      this.#probes.delete(probe);
    }
  }

  /**
   * Connections of every endpoint together: open (what `maxConnections` limits), idle, in use, being opened, calls
   * waiting for one, the endpoints the client keeps a record of, and how many idle connections were closed so far to
   * make room for a call to another endpoint.
   */
  stats(): PoolStats;
  /** Connections to an endpoint: open, idle, in use, being opened, and calls waiting for one. */
  stats(endpoint: Endpoint): EndpointStats;
  stats(endpoint?: Endpoint): EndpointStats | PoolStats {
    if (endpoint === undefined) return this.#pool.totals();
    return this.#pool.stats(this.#endpoints.resolve(endpoint).key);
  }

  /**
   * Closes the endpoint's idle connections and retires the ones in use when they come back (e.g. after the agent's
   * certificate or trust changed). Later calls open fresh connections.
   */
  clear(endpoint: Endpoint): void {
    this.#pool.clear(this.#endpoints.resolve(endpoint).key);
  }

  /**
   * Closes the client: new calls fail with {@link ClientClosedError}, calls waiting for a connection fail, idle
   * connections are ended with END, probes in progress are stopped (they reject with {@link ClientClosedError}), and
   * calls in flight are awaited. If `signal` fires first, the connections still
   * in use are destroyed (those calls fail) and close resolves. Afterwards no socket or timer is left behind.
   */
  async close(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#closed = true;
    this.#closing.abort(new ClientClosedError());
    // A probe has nothing to finish on the agent's side: it is stopped, not waited for.
    for (const probe of this.#probes.keys()) probe.stop(new ClientClosedError());
    const probes = Promise.allSettled(this.#probes.values());
    await this.#pool.close();
    const { signal } = options;
    const destroyInUse = (): void => this.#pool.destroyInUse(new ClientClosedError());
    if (signal?.aborted === true) destroyInUse();
    const listener = addAbortListener(signal, destroyInUse);
    try {
      await this.#pool.drained();
      await probes;
    } finally {
      listener[Symbol.dispose]();
    }
  }

  /** Closes the client (waiting for calls in flight), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #requestMessage(ep: ResolvedEndpoint, request: CallRequest, retry: ResolvedRetryOptions): RequestMessage {
    if (typeof request?.service !== 'string' || request.service.length === 0) throw new TypeError('A call needs a service name');
    if (typeof request.method !== 'string' || request.method.length === 0) throw new TypeError('A call needs a method name');
    const activityId = Guid.random();
    return {
      id: `${request.service}::${request.method}[${++this.#callCounter}] / ${activityId.toString()}`,
      activityId,
      endpoint: this.#endpoints.describe(ep, retry),
      service: request.service,
      method: request.method,
      params: [...(request.params ?? [])],
    };
  }
}

/** A call's `timeoutMs`: a positive number of milliseconds (fractions allowed; timers round them). */
function checkTimeout(timeoutMs: number): number {
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  }
  return timeoutMs;
}
