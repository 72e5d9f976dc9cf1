/**
 * One call, from asking the pool for a connection to the answer: the connection attempts (retried while nothing
 * has been sent), the exchange, and the error the call fails with. Its state is in the open: how many connection
 * attempts were made, whether the request has started to go out, and when the call began; the error a call fails
 * with is made from that state when the call fails.
 */
import createDebug from 'debug';
import pRetry, { AbortError } from 'p-retry';
import { CertificateMismatchError } from '../certificates/pinning.js';
import { callTraceContext, publishCallRetry, traceCall, type CallTraceContext } from '../diagnostics/channels.js';
import { HalibutError, inCall, type CallProgress } from '../errors.js';
import type { ConnectionPool } from '../pool/connection-pool.js';
import type { Lease } from '../pool/pooled-connection.js';
import type { ClientConnection } from '../protocol/client-connection.js';
import type { IncomingStreams } from '../protocol/data-stream-wire.js';
import { DataStreamError } from '../protocol/errors.js';
import type { RequestMessage } from '../protocol/message-codec.js';
import { RemoteError, remoteErrorFrom } from '../protocol/remote-errors.js';
import { addAbortListener, isAborted } from '../util/abort.js';
import type { CallEvent, ClientEvents } from './client-events.js';
import type { Connector } from './connector.js';
import type { ResolvedEndpoint } from './endpoint.js';
import { callStopped } from './errors.js';
import { isInitializationFailure, isRetryableBeforeRequest, type ResolvedRetryOptions } from './retry.js';

const debug = createDebug('halibut:client');

/** Emits one of the client's events. */
export type ClientEmit = <K extends keyof ClientEvents>(event: K, ...args: ClientEvents[K]) => void;

/** What every call of one client shares: where connections come from and where events go. */
export interface CallPath {
  /** The client's connections, per endpoint. */
  pool: ConnectionPool<ClientConnection>;
  /** Opens a new connection when the pool has none to offer. */
  connector: Connector;
  /** The client's event emitter. */
  emit: ClientEmit;
  /** Fires when the client closes, so that a call waiting between connection attempts stops waiting. */
  closing: AbortSignal;
  /** How long a response's data streams may stay unread before their connection is closed. */
  readTimeoutMs: number;
}

/** What one call may be given besides its request. */
export interface CallLimits {
  /** Cancels the call. */
  signal?: AbortSignal | undefined;
  /** The longest the call may take, from its start to its answer (not counting reading its data streams). */
  timeoutMs?: number | undefined;
}

/** One call in progress; {@link run} it once. */
export class CallAttempt {
  /** The endpoint URL. */
  readonly endpoint: string;
  /** The service called. */
  readonly service: string;
  /** The method called. */
  readonly method: string;
  /** The request id sent on the wire (`Service::Method[n] / activity`). */
  readonly callId: string;
  /** When the call began (performance clock). */
  readonly startedAt = performance.now();
  /** Connection attempts made so far, the first included. */
  attempts = 0;
  /** Whether the request has started to go out; from then on the agent may have run it, and nothing is retried. */
  requestStarted = false;
  /** The call's context on the `halibut:call` tracing channel; undefined when nobody subscribes. */
  readonly trace: CallTraceContext | undefined;
  /** Handshake or identification failures in a row: the second makes the endpoint's pooled connections suspect. */
  #initializationFailures = 0;

  readonly #path: CallPath;
  readonly #ep: ResolvedEndpoint;
  readonly #message: RequestMessage;
  readonly #retry: ResolvedRetryOptions;
  /** The caller's signal. */
  readonly #callerSignal: AbortSignal | undefined;
  /** What stops the call: the caller's signal, combined with the call's own deadline when it has one. */
  #signal: AbortSignal | undefined;
  readonly #timeoutMs: number | undefined;
  /** Set when the call's own deadline passed. */
  #timedOut = false;
  readonly #open = (signal: AbortSignal | undefined): Promise<ClientConnection> => this.#path.connector.open(this.#ep, signal, this.trace);
  readonly #onRequestStarted = (): void => {
    this.requestStarted = true;
    if (this.trace !== undefined) this.trace.requestStarted = true;
  };

  constructor(path: CallPath, ep: ResolvedEndpoint, message: RequestMessage, retry: ResolvedRetryOptions, limits: CallLimits) {
    this.#path = path;
    this.#ep = ep;
    this.#message = message;
    this.#retry = retry;
    this.endpoint = ep.url;
    this.service = message.service;
    this.method = message.method;
    this.callId = message.id;
    this.#callerSignal = limits.signal;
    this.#signal = limits.signal;
    this.#timeoutMs = limits.timeoutMs;
    this.trace = callTraceContext(ep, message.service, message.method, message.id);
  }

  /** How far the call has got, as its errors report it. */
  get progress(): CallProgress {
    return { attempts: this.attempts, elapsedMs: performance.now() - this.startedAt, requestStarted: this.requestStarted };
  }

  /** Runs the call and returns its result, or fails with an error that says how far it got. */
  run(): Promise<unknown> {
    return traceCall(this.trace, this.#run, this);
  }

  async #run(): Promise<unknown> {
    const { emit } = this.#path;
    const { endpoint, service, method, callId } = this;
    const event: CallEvent = { endpoint, service, method, callId };
    emit('callStarted', event);
    // Only a call with a time limit pays for a timer and a combined signal.
    const deadline = this.#timeoutMs === undefined ? undefined : this.#startDeadline(this.#timeoutMs);
    try {
      if (isAborted(this.#signal)) throw this.#abortError();
      const result = await this.#exchange(await this.#checkOut());
      // The event's fields written out rather than spread: a spread copy is the slower way to build the same object.
      emit('callSucceeded', { endpoint, service, method, callId, durationMs: performance.now() - this.startedAt });
      return result;
    } catch (err) {
      const error = this.#failure(err);
      emit('callFailed', { endpoint, service, method, callId, durationMs: performance.now() - this.startedAt, error });
      throw error;
    } finally {
      clearTimeout(deadline);
    }
  }

  #startDeadline(timeoutMs: number): NodeJS.Timeout {
    const expiry = new AbortController();
    this.#signal = this.#callerSignal === undefined ? expiry.signal : AbortSignal.any([this.#callerSignal, expiry.signal]);
    return setTimeout(() => {
      this.#timedOut = true;
      expiry.abort(this.#abortError());
    }, timeoutMs);
  }

  /**
   * Checks a connection out, retrying failures that happen before the request begins.
   *
   * The first attempt runs on its own: it usually succeeds at once (a pooled connection), and the retry machinery
   * (p-retry, a combined abort signal) costs more than the rest of the call. Only a failure worth retrying hands over
   * to p-retry, see {@link #retryAfter}.
   */
  async #checkOut(): Promise<Lease<ClientConnection>> {
    let lease: Lease<ClientConnection>;
    try {
      lease = await this.#tryOnce();
    } catch (err) {
      if (err instanceof AbortError) throw err.originalError;
      return this.#retryAfter(err);
    }
    // As p-retry does after an attempt: an abort (or close) that came meanwhile fails the call.
    const { closing } = this.#path;
    if (isAborted(this.#signal) || closing.aborted) {
      this.#path.pool.discard(lease.connection, 'aborted');
      throw isAborted(this.#signal) ? this.#abortError() : closing.reason;
    }
    return lease;
  }

  /**
   * The attempts after a first one that failed with `firstFailure`, by p-retry.
   *
   * p-retry is handed the first failure as its own first attempt (its first call of the attempt function throws it
   * again) rather than started afresh for the second. That replay is the simplest correct way to join it mid-way:
   * p-retry then numbers the attempts, computes each wait (delay × factor^n, jitter, the cap), reports the first
   * failure through `onFailedAttempt` and applies the retry window exactly as if it had run from the start; starting
   * it at the second attempt instead would need each of those shifted by one by hand, and a wait of our own before it.
   * The window is what remains of it, since the first attempt's time is already spent.
   */
  #retryAfter(firstFailure: unknown): Promise<Lease<ClientConnection>> {
    const retry = this.#retry;
    const { closing, emit } = this.#path;
    const signal = this.#signal === undefined ? closing : AbortSignal.any([this.#signal, closing]);
    let replayed = false;
    return pRetry(
      async () => {
        if (replayed) return this.#tryOnce();
        replayed = true;
        throw firstFailure;
      },
      {
        retries: retry.attempts - 1,
        factor: retry.factor,
        minTimeout: retry.delayMs,
        maxTimeout: retry.maxDelayMs,
        randomize: retry.jitter,
        maxRetryTime: Math.max(0, retry.maxRetryTimeMs - (performance.now() - this.startedAt)),
        // The wait between attempts keeps the process alive (a script awaiting a call must not exit mid-retry);
        // closing the client or the call's signal ends it.
        signal,
        onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
          // The caller's narrower rule: thrown from here, the failure ends the call before any retry is announced.
          if (!retry.retryOn(error)) throw error;
          debug('attempt %d to reach %s failed: %s', attemptNumber, this.endpoint, error.message);
          if (retriesLeft > 0) emit('retryScheduled', { endpoint: this.endpoint, callId: this.callId, attempt: attemptNumber, retriesLeft, error });
          if (retriesLeft > 0) publishCallRetry(this.trace, this.endpoint, this.callId, attemptNumber, retriesLeft, error);
        },
      },
    );
  }

  /** One attempt to check a connection out; failures not worth retrying come out wrapped in p-retry's AbortError. */
  async #tryOnce(): Promise<Lease<ClientConnection>> {
    this.attempts++;
    if (this.trace !== undefined) this.trace.attempts = this.attempts;
    const { pool } = this.#path;
    try {
      return await pool.checkOut(this.#ep.key, this.endpoint, this.#open, this.#signal);
    } catch (err) {
      // A pin failure or repeated failures to initialise make every pooled connection to the endpoint suspect.
      if (err instanceof CertificateMismatchError || (isInitializationFailure(err) && ++this.#initializationFailures === 2)) pool.clear(this.#ep.key);
      if (isAborted(this.#signal) || !isRetryableBeforeRequest(err)) throw new AbortError(err as Error);
      throw err;
    }
  }

  /** Sends the request on `lease`'s connection and reads the answer; the connection goes back to the pool after. */
  async #exchange(lease: Lease<ClientConnection>): Promise<unknown> {
    const { pool } = this.#path;
    const connection = lease.connection;
    const signal = this.#signal;
    // Throws the connection away when the call is stopped: a read waiting on the agent ends at once.
    const onAbort = addAbortListener(signal, () => pool.discard(connection, 'aborted', this.#abortError()));
    try {
      const { response, incoming } = await connection.exchange(this.#message, this.#onRequestStarted);
      if (incoming.streams.length === 0) pool.checkIn(connection);
      else checkInWhenRead(pool, connection, incoming, this.#path.readTimeoutMs);
      if (response.error !== null) throw remoteErrorFrom(response.error, { endpoint: this.endpoint, service: this.service, method: this.method });
      return response.result;
    } catch (err) {
      // A remote error ends a complete exchange: the connection was already checked in.
      if (!(err instanceof RemoteError)) pool.discard(connection, isAborted(signal) ? 'aborted' : 'error', err instanceof Error ? err : undefined);
      throw err;
    } finally {
      onAbort[Symbol.dispose]();
    }
  }

  /** The error the call was stopped with, as of now: a timeout (its own, or a signal's) or an abort. */
  #abortError(): HalibutError {
    const call = this.progress;
    const ownTimeoutMs = this.#timedOut ? this.#timeoutMs : undefined;
    return callStopped(this.endpoint, this.#callerSignal?.reason, { requestStarted: call.requestStarted, elapsedMs: call.elapsedMs, ownTimeoutMs, call });
  }

  /** Turns whatever ended the call into the error the caller sees, saying how far it got. */
  #failure(err: unknown): Error {
    if (err instanceof RemoteError) return err;
    if (isAborted(this.#signal)) return this.#abortError();
    if (err instanceof HalibutError) return inCall(err, this.progress);
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * A response's data streams are still on the connection: it goes back to the pool once they have been read, and
 * is closed if they are not read within the read timeout (an unread stream would pin the connection forever).
 */
function checkInWhenRead(pool: ConnectionPool<ClientConnection>, connection: ClientConnection, incoming: IncomingStreams, readTimeoutMs: number): void {
  const guard = setTimeout(() => {
    // Once reading has started, the read deadlines govern; this only catches streams nobody touches.
    if (!incoming.started && !incoming.done) {
      incoming.abort(new DataStreamError(`The response's data streams were not read within ${readTimeoutMs} ms; the connection was closed`));
    }
  }, readTimeoutMs);
  guard.unref();
  incoming.settled.then(
    () => {
      clearTimeout(guard);
      pool.checkIn(connection);
    },
    (err: unknown) => {
      clearTimeout(guard);
      pool.discard(connection, 'error', err instanceof Error ? err : undefined);
    },
  );
}
