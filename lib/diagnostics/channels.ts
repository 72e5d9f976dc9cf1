/**
 * What the library publishes on Node's diagnostics channels (`node:diagnostics_channel`): every call as a tracing
 * channel, and connections, pool waits, retries, data stream transfers and script runs as plain channels. Anyone can
 * subscribe by name; the OpenTelemetry instrumentation and the `halibut:call` debug log are subscribers like any
 * other.
 *
 * This is the bottom layer: it imports nothing else from the library, so that every layer can publish. Each
 * `publish…` helper checks `hasSubscribers` before it builds a message, so that with nobody listening a
 * publishing point costs one property read.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { TLSSocket } from 'node:tls';

/** The name of every channel the library publishes to (see docs/observability.md). */
export const diagnosticsChannels = {
  /**
   * Every call, as a tracing channel: its events are published on `tracing:halibut:call:start`, `…:end`,
   * `…:asyncStart`, `…:asyncEnd` and `…:error`, each with the call's {@link CallTraceContext}.
   */
  call: 'halibut:call',
  /** A connection attempt failed before the request began and another attempt will follow: {@link CallRetryMessage}. */
  callRetry: 'halibut:call:retry',
  /** A new connection finished its TLS handshake and pin check: {@link ConnectionOpenedMessage}. */
  connectionOpened: 'halibut:connection:opened',
  /** A new connection finished Halibut's identification (`MX-CLIENT` / `MX-SERVER`): {@link ConnectionIdentifiedMessage}. */
  connectionIdentified: 'halibut:connection:identified',
  /** An opened connection was closed: {@link ConnectionClosedMessage}. */
  connectionClosed: 'halibut:connection:closed',
  /** A call waited for a free connection (its endpoint's limit or the client's was reached): {@link PoolWaitMessage}. */
  poolWait: 'halibut:pool:wait',
  /** A data stream was sent with a request or received with a response: {@link StreamTransferMessage}. */
  streamTransfer: 'halibut:stream:transfer',
  /** A script started on a Tentacle: {@link ScriptStartedMessage}. */
  scriptStarted: 'halibut:tentacle:script:started',
  /** A Tentacle answered with a script's status: {@link ScriptStatusMessage}. */
  scriptStatus: 'halibut:tentacle:script:status',
  /** A script run stopped polling because its reader is behind: {@link ScriptPausedMessage}. */
  scriptPaused: 'halibut:tentacle:script:paused',
  /** A script run ended, one way or another: {@link ScriptCompletedMessage}. */
  scriptCompleted: 'halibut:tentacle:script:completed',
} as const;

/**
 * The context object of the `halibut:call` tracing channel: the same object in all five events of one call, built
 * only when the channel has subscribers. `attempts` and `requestStarted` are kept up to date while the call runs;
 * Node sets `result` or `error` before the `asyncStart` event. Subscribers may keep their own data on it under
 * their own symbols.
 */
export interface CallTraceContext {
  /** Connection attempts made so far (1 when the first succeeded). */
  attempts: number;
  /** True once the request started to go out: from then on the agent may have run it, and nothing is retried. */
  requestStarted: boolean;
  /** The endpoint URL, normalised (`https://host:port/`). */
  endpoint: string;
  /** The endpoint's host name or IP address. */
  host: string;
  /** The endpoint's port. */
  port: number;
  /** The service's interface name, e.g. `IScriptServiceV2`. */
  service: string;
  /** The method's name, e.g. `GetStatus`. */
  method: string;
  /** The request id sent on the wire (`Service::Method[n] / activity`). */
  callId: string;
  /** `performance.now()` when the call started. */
  startedAt: number;
  /** What the call returned (set by Node before `asyncStart` when the call succeeded). */
  result?: unknown;
  /** What the call failed with (set by Node before the `error` event). */
  error?: unknown;
}

/** Why a connection was closed. */
export type ConnectionCloseReason =
  /** Idle longer than `maxIdleTimeMs`. */
  | 'idle'
  /** More idle connections than `maxIdlePerEndpoint`. */
  | 'excess'
  /** Idle, and closed to make room under `maxConnections` for a call to another endpoint. */
  | 'evicted'
  /** A pooled connection failed NEXT/PROCEED, or the agent closed it while idle. */
  | 'stale'
  /** The endpoint's pool was cleared after it was created. */
  | 'cleared'
  /** An error (protocol, I/O, timeout, a failed identification) happened on it. */
  | 'error'
  /** The call using it was aborted. */
  | 'aborted'
  /** The client was closed. */
  | 'poolClosed';

/** Published on `halibut:connection:opened`. */
export interface ConnectionOpenedMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The connection's id, unique within the process (as in the client's pool events). */
  connectionId: number;
  /** The negotiated TLS version, e.g. `TLSv1.3`. */
  tlsVersion: string | null;
  /** The negotiated cipher suite's standard (IANA) name, e.g. `TLS_AES_256_GCM_SHA384`. */
  cipher: string | undefined;
  /** The proxy the connection goes through (scheme, host and port only), if any. */
  proxy: string | undefined;
  /** Milliseconds to reach the agent: TCP connect, and the proxy's tunnel if there is one. */
  dialMs: number;
  /** Milliseconds for the TLS handshake and the pin check. */
  tlsMs: number;
  /** The trace context of the call that opened the connection, when the call channel has subscribers. */
  call: CallTraceContext | undefined;
}

/** Published on `halibut:connection:identified`. */
export interface ConnectionIdentifiedMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The connection's id. */
  connectionId: number;
  /** Milliseconds for the identification exchange alone. */
  identifyMs: number;
  /** Milliseconds from the start of the dial to the end of identification. */
  setupMs: number;
  /** The trace context of the call that opened the connection, when the call channel has subscribers. */
  call: CallTraceContext | undefined;
}

/** Published on `halibut:connection:closed`, once for every connection that was opened. */
export interface ConnectionClosedMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The connection's id. */
  connectionId: number;
  /** Why it was closed. */
  reason: ConnectionCloseReason;
  /** What went wrong, for `error` and `aborted` closes when known. */
  error: Error | undefined;
}

/** How a wait for a free connection ended. */
export type PoolWaitOutcome =
  /** A connection became free (or room to open one). */
  | 'served'
  /** `waitQueueTimeoutMs` passed first. */
  | 'timeout'
  /** The call's signal fired. */
  | 'aborted'
  /** The client was closed. */
  | 'poolClosed';

/** The limit that makes a call wait for a connection. */
export type PoolLimit =
  /** Its endpoint has `maxConnectionsPerEndpoint` connections, none of them idle. */
  | 'maxConnectionsPerEndpoint'
  /** The client has `maxConnections` connections over all endpoints, none of them idle. */
  | 'maxConnections';

/** Published on `halibut:pool:wait` when a wait for a free connection ends. */
export interface PoolWaitMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** Milliseconds spent waiting. */
  durationMs: number;
  /** How the wait ended. */
  outcome: PoolWaitOutcome;
  /** The limit that made the call wait, as it stood when the wait began. */
  limit: PoolLimit;
  /** Why the wait failed, unless it was served. */
  error: Error | undefined;
}

/** Published on `halibut:call:retry`. */
export interface CallRetryMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The call's request id. */
  callId: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** Attempts still allowed after this one. */
  retriesLeft: number;
  /** Why the attempt failed. */
  error: Error;
  /** The call's trace context, when the call channel has subscribers. */
  call: CallTraceContext | undefined;
}

/** Published on `halibut:stream:transfer` when a data stream has been sent or received, or failed part way. */
export interface StreamTransferMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The stream's id (a GUID). */
  streamId: string;
  /** `send`: from this process to the agent, with a request; `receive`: from the agent, with a response. */
  direction: 'send' | 'receive';
  /** Body bytes moved (all of `length` unless it failed). */
  bytes: number;
  /** The body's declared length. */
  length: number;
  /** Milliseconds from the stream's header to its trailer (or to the failure). */
  durationMs: number;
  /** Why the transfer stopped part way, if it did. */
  error: Error | undefined;
}

/** Published on `halibut:tentacle:script:started` once the Tentacle has the script. */
export interface ScriptStartedMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The script's ticket. */
  ticket: string;
  /** The script service used: `IScriptService` or `IScriptServiceV2`. */
  service: string;
}

/** Published on `halibut:tentacle:script:status` for every status a Tentacle reports (start, poll, cancel). */
export interface ScriptStatusMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The script's ticket. */
  ticket: string;
  /** The script's state as the Tentacle reports it. */
  state: 'Pending' | 'Running' | 'Complete';
  /** The exit code reported (meaningful once `state` is `Complete`). */
  exitCode: number;
  /** How many log records came with this status. */
  logRecords: number;
  /** The log sequence the next poll asks from. */
  nextLogSequence: number;
}

/**
 * Published on `halibut:tentacle:script:paused` when a script run stops polling its agent because the caller
 * iterating its lines is behind (the line buffer is full); polling resumes as the reader catches up.
 */
export interface ScriptPausedMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The script's ticket. */
  ticket: string;
  /** Lines waiting for the reader. */
  bufferedLines: number;
  /** Bytes of line text waiting for the reader. */
  bufferedBytes: number;
}

/** Published on `halibut:tentacle:script:completed` when a script run ends, with its result or its error. */
export interface ScriptCompletedMessage {
  /** The endpoint URL. */
  endpoint: string;
  /** The script's ticket; empty when the run ended before the Tentacle had the script. */
  ticket: string;
  /** Milliseconds from `runScript` to the end of the run. */
  durationMs: number;
  /** The script's exit code, when the run finished. */
  exitCode: number | undefined;
  /** True when the script was cancelled (by the caller or its time limit). */
  cancelled: boolean;
  /** What the run failed with, if it failed. */
  error: Error | undefined;
}

/** The `halibut:call` tracing channel. */
export const callChannel = tracingChannel<unknown, CallTraceContext>(diagnosticsChannels.call);
const callRetry = channel(diagnosticsChannels.callRetry);
const connectionOpened = channel(diagnosticsChannels.connectionOpened);
const connectionIdentified = channel(diagnosticsChannels.connectionIdentified);
const connectionClosed = channel(diagnosticsChannels.connectionClosed);
const poolWait = channel(diagnosticsChannels.poolWait);
const streamTransfer = channel(diagnosticsChannels.streamTransfer);
const scriptStarted = channel(diagnosticsChannels.scriptStarted);
const scriptStatus = channel(diagnosticsChannels.scriptStatus);
const scriptPaused = channel(diagnosticsChannels.scriptPaused);
const scriptCompleted = channel(diagnosticsChannels.scriptCompleted);

/** A new call's trace context, or `undefined` (and nothing built) when the call channel has no subscribers. */
export function callTraceContext(endpoint: { url: string; host: string; port: number }, service: string, method: string, callId: string): CallTraceContext | undefined {
  if (!callChannel.hasSubscribers) return undefined;
  return {
    endpoint: endpoint.url,
    host: endpoint.host,
    port: endpoint.port,
    service,
    method,
    callId,
    startedAt: performance.now(),
    attempts: 0,
    requestStarted: false,
  };
}

/**
 * Runs `fn` as a traced call when there is a trace context (start, end, asyncStart, asyncEnd, and error on a
 * rejection); otherwise runs it as it is.
 */
export function traceCall<This, Result>(context: CallTraceContext | undefined, fn: (this: This) => Promise<Result>, thisArg: This): Promise<Result> {
  if (context === undefined) return fn.call(thisArg);
  return callChannel.tracePromise(fn, context, thisArg);
}

/** Publishes a retry (see {@link CallRetryMessage}). */
export function publishCallRetry(call: CallTraceContext | undefined, endpoint: string, callId: string, attempt: number, retriesLeft: number, error: Error): void {
  if (!callRetry.hasSubscribers) return;
  const message: CallRetryMessage = { endpoint, callId, attempt, retriesLeft, error, call };
  callRetry.publish(message);
}

/** Publishes a new connection's TLS session (see {@link ConnectionOpenedMessage}); times are `performance.now()`s. */
export function publishConnectionOpened(
  endpoint: string,
  connectionId: number,
  tls: TLSSocket,
  proxy: string | undefined,
  times: { dialStarted: number; tlsStarted: number },
  call: CallTraceContext | undefined,
): void {
  if (!connectionOpened.hasSubscribers) return;
  const now = performance.now();
  const cipher = tls.getCipher() as { standardName?: string; name?: string } | undefined;
  const message: ConnectionOpenedMessage = {
    endpoint,
    connectionId,
    tlsVersion: tls.getProtocol(),
    cipher: cipher?.standardName ?? cipher?.name,
    proxy,
    dialMs: times.tlsStarted - times.dialStarted,
    tlsMs: now - times.tlsStarted,
    call,
  };
  connectionOpened.publish(message);
}

/** Publishes a finished identification (see {@link ConnectionIdentifiedMessage}); times are `performance.now()`s. */
export function publishConnectionIdentified(
  endpoint: string,
  connectionId: number,
  times: { dialStarted: number; identifyStarted: number },
  call: CallTraceContext | undefined,
): void {
  if (!connectionIdentified.hasSubscribers) return;
  const now = performance.now();
  const message: ConnectionIdentifiedMessage = {
    endpoint,
    connectionId,
    identifyMs: now - times.identifyStarted,
    setupMs: now - times.dialStarted,
    call,
  };
  connectionIdentified.publish(message);
}

/** Publishes a closed connection (see {@link ConnectionClosedMessage}). */
export function publishConnectionClosed(endpoint: string, connectionId: number, reason: ConnectionCloseReason, error?: Error): void {
  if (!connectionClosed.hasSubscribers) return;
  const message: ConnectionClosedMessage = { endpoint, connectionId, reason, error };
  connectionClosed.publish(message);
}

/** Publishes the end of a wait for a connection (see {@link PoolWaitMessage}); `started` is a `performance.now()`. */
export function publishPoolWait(endpoint: string, started: number, limit: PoolLimit, outcome: PoolWaitOutcome, error?: Error): void {
  if (!poolWait.hasSubscribers) return;
  const message: PoolWaitMessage = { endpoint, durationMs: performance.now() - started, outcome, limit, error };
  poolWait.publish(message);
}

/** True when someone listens to data stream transfers (so that a transfer's start time is worth taking). */
export function observingTransfers(): boolean {
  return streamTransfer.hasSubscribers;
}

/** Publishes a finished or failed data stream transfer (see {@link StreamTransferMessage}). */
export function publishStreamTransfer(
  endpoint: string,
  stream: { id: { toString(): string }; length: number },
  direction: 'send' | 'receive',
  bytes: number,
  started: number,
  error?: Error,
): void {
  if (!streamTransfer.hasSubscribers) return;
  const message: StreamTransferMessage = {
    endpoint,
    streamId: stream.id.toString(),
    direction,
    bytes,
    length: stream.length,
    durationMs: performance.now() - started,
    error,
  };
  streamTransfer.publish(message);
}

/** Publishes a script's start (see {@link ScriptStartedMessage}). */
export function publishScriptStarted(endpoint: string, ticket: string, service: string): void {
  if (!scriptStarted.hasSubscribers) return;
  const message: ScriptStartedMessage = { endpoint, ticket, service };
  scriptStarted.publish(message);
}

/** The names of Tentacle's `ProcessState` values (0, 1, 2), as the status message carries them. */
const PROCESS_STATES = ['Pending', 'Running', 'Complete'] as const;

/** Publishes a status a Tentacle reported (see {@link ScriptStatusMessage}). */
export function publishScriptStatus(
  endpoint: string,
  ticket: string,
  status: { State: number; ExitCode: number; Logs: readonly unknown[]; NextLogSequence: number },
): void {
  if (!scriptStatus.hasSubscribers) return;
  const message: ScriptStatusMessage = {
    endpoint,
    ticket,
    state: PROCESS_STATES[status.State] ?? 'Pending',
    exitCode: status.ExitCode,
    logRecords: status.Logs.length,
    nextLogSequence: status.NextLogSequence,
  };
  scriptStatus.publish(message);
}

/** Publishes a pause of a script run's polling (see {@link ScriptPausedMessage}). */
export function publishScriptPaused(endpoint: string, ticket: string, bufferedLines: number, bufferedBytes: number): void {
  if (!scriptPaused.hasSubscribers) return;
  const message: ScriptPausedMessage = { endpoint, ticket, bufferedLines, bufferedBytes };
  scriptPaused.publish(message);
}

/** Publishes the end of a script run (see {@link ScriptCompletedMessage}); `started` is a `performance.now()`. */
export function publishScriptCompleted(
  endpoint: string,
  started: number,
  end: { ticket: string; exitCode: number | undefined; cancelled: boolean; error?: unknown },
): void {
  if (!scriptCompleted.hasSubscribers) return;
  const { error } = end;
  const message: ScriptCompletedMessage = {
    endpoint,
    ticket: end.ticket,
    durationMs: performance.now() - started,
    exitCode: end.exitCode,
    cancelled: end.cancelled,
    error: error === undefined || error instanceof Error ? error : new Error('The run failed with a value that is not an Error', { cause: error }),
  };
  scriptCompleted.publish(message);
}
