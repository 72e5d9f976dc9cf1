/**
 * `halibut-client/opentelemetry`: records the library's diagnostics channels as OpenTelemetry spans and metrics.
 *
 * A client span per call, following the RPC semantic conventions (`rpc.system` `halibut`), with child spans for
 * the dial, the TLS handshake and the identification of each new connection; and metrics for call durations, open
 * connections, connection setup, pool waits, retries and data stream bytes. The core never loads this module or
 * `@opentelemetry/api` (an optional peer dependency): only applications that import this entry point need it.
 *
 * @packageDocumentation
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  trace,
  type Attributes,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import {
  callChannel,
  diagnosticsChannels,
  type CallRetryMessage,
  type CallTraceContext,
  type ConnectionClosedMessage,
  type ConnectionIdentifiedMessage,
  type ConnectionOpenedMessage,
  type PoolWaitMessage,
  type StreamTransferMessage,
} from '../diagnostics/channels.js';

/** Where spans and metrics go. */
export interface InstrumentOptions {
  /** The tracer provider to record spans with; default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** The meter provider to record metrics with; default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
}

/** A running instrumentation; `uninstrument()` (or `using`) stops it. */
export interface Instrumentation extends Disposable {
  /**
   * Unsubscribes from every channel. Calls still in flight are not recorded, and the channels are left with no
   * subscriber, so that calls go back to building no trace context at all.
   */
  uninstrument(): void;
}

/** The instrumentation scope's name (the package's). */
export const INSTRUMENTATION_NAME = 'halibut-client';

/** The metrics recorded, by name; the units are in docs/observability.md. */
export const METRICS = {
  /** Histogram of call durations in seconds, as the RPC conventions name it. */
  callDuration: 'rpc.client.call.duration',
  /** Up-down counter of connections open (opened since instrumenting and not yet closed). */
  openConnections: 'halibut.client.open_connections',
  /** Histogram of the time from dial to identified, in seconds, for new connections. */
  connectionSetupDuration: 'halibut.client.connection.setup.duration',
  /** Histogram of waits for a free pooled connection, in seconds. */
  poolWaitDuration: 'halibut.client.pool.wait.duration',
  /** Counter of connection attempts retried. */
  retries: 'halibut.client.call.retries',
  /** Counter of data stream body bytes, by `network.io.direction`. */
  dataStreamIo: 'halibut.client.data_stream.io',
} as const;

/** Bucket boundaries for durations in seconds: a pooled call takes a millisecond, a connection attempt up to seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

const version = ((): string | undefined => {
  try {
    // Two levels up from lib/opentelemetry and from dist/opentelemetry alike.
    return (createRequire(import.meta.url)('../../package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
})();

/**
 * A call's traced span and the clock its children are timed on. Wall-clock time and the monotonic clock drift
 * apart over a process's life (`performance.timeOrigin + performance.now()` can differ from `Date.now()` by
 * milliseconds after an hour), so every span of one call is placed by the monotonic clock from one wall-clock
 * reading taken when the call began: children then always fall inside their parent, in the order they happened.
 */
interface TracedCall {
  readonly span: Span;
  /** Wall-clock milliseconds at the call's `startedAt` on the monotonic clock. */
  readonly epochAtStart: number;
}

/** Wall-clock milliseconds for a `performance.now()` reading, on the traced call's clock. */
function epochMs(traced: TracedCall, call: CallTraceContext, monotonic: number): number {
  return traced.epochAtStart + (monotonic - call.startedAt);
}

/** A low-cardinality name for what a call failed with: its stable `code`, else its class name. */
export function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code === 'string' && code.length > 0) return code;
  if (error instanceof Error) return error.name;
  return '_OTHER';
}

/**
 * Subscribes to the library's diagnostics channels and records spans and metrics through the given (or global)
 * providers. Returns the handle that stops it. Each call of `instrument` records independently: call it once.
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, version);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME, version);
  const advice = { explicitBucketBoundaries: DURATION_BUCKETS };
  const callDuration = meter.createHistogram(METRICS.callDuration, { unit: 's', description: 'Duration of outgoing Halibut calls', advice });
  const openConnections = meter.createUpDownCounter(METRICS.openConnections, { unit: '{connection}', description: 'Connections to listening agents that are open' });
  const setupDuration = meter.createHistogram(METRICS.connectionSetupDuration, { unit: 's', description: 'Time to dial, secure and identify a new connection', advice });
  const poolWaitDuration = meter.createHistogram(METRICS.poolWaitDuration, { unit: 's', description: 'Time calls waited for a free pooled connection', advice });
  const retries = meter.createCounter(METRICS.retries, { unit: '{retry}', description: 'Connection attempts that failed and were retried' });
  const dataStreamIo = meter.createCounter(METRICS.dataStreamIo, { unit: 'By', description: 'Data stream body bytes sent and received' });

  /** The span of each traced call; a weak map, so that a call never finished leaves nothing behind. */
  const calls = new WeakMap<CallTraceContext, TracedCall>();
  /** Connections opened while instrumented: only their closes count down. */
  const open = new Map<number, Attributes>();
  const endpoints = new EndpointAttributes();

  const callHandlers = {
    start(call: CallTraceContext): void {
      const attributes: Attributes = {
        'rpc.system': 'halibut',
        'rpc.service': call.service,
        'rpc.method': call.method,
        'server.address': call.host,
        'server.port': call.port,
        'halibut.call.id': call.callId,
      };
      // Published synchronously inside the caller's own call: the active context is the caller's.
      const epochAtStart = Date.now() - (performance.now() - call.startedAt);
      const span = tracer.startSpan(`${call.service}/${call.method}`, { kind: SpanKind.CLIENT, startTime: epochAtStart, attributes }, context.active());
      calls.set(call, { span, epochAtStart });
    },
    end(): void {
      // The synchronous part of the call ended: nothing to record.
    },
    asyncStart(): void {
      // Settled: recorded at asyncEnd, once Node has set `result` or `error`.
    },
    error(): void {
      // Recorded at asyncEnd, which follows.
    },
    asyncEnd(call: CallTraceContext): void {
      const traced = calls.get(call);
      if (traced === undefined) return;
      calls.delete(call);
      const { span } = traced;
      const ended = performance.now();
      // The metric's attributes: the span's, less the call id (one per call, far too many values for a metric).
      const attributes: Attributes = {
        'rpc.system': 'halibut',
        'rpc.service': call.service,
        'rpc.method': call.method,
        'server.address': call.host,
        'server.port': call.port,
      };
      span.setAttributes({ 'halibut.call.attempts': call.attempts, 'halibut.call.request_started': call.requestStarted });
      if ('error' in call) {
        const type = errorType(call.error);
        attributes['error.type'] = type;
        span.setAttribute('error.type', type);
        if (call.error instanceof Error) span.recordException(call.error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: call.error instanceof Error ? call.error.message : type });
      }
      span.end(epochMs(traced, call, ended));
      callDuration.record((ended - call.startedAt) / 1000, attributes);
    },
  };

  /** A finished child span of the call's span, from `start` to `end` (`performance.now()` readings). */
  const childSpan = (call: CallTraceContext | undefined, name: string, start: number, end: number, attributes: Attributes): void => {
    const parent = call === undefined ? undefined : calls.get(call);
    if (call === undefined || parent === undefined) return;
    const startTime = epochMs(parent, call, start);
    tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime, attributes }, trace.setSpan(ROOT_CONTEXT, parent.span)).end(epochMs(parent, call, end));
  };

  const handlers: Record<string, (message: unknown) => void> = {
    [diagnosticsChannels.connectionOpened]: (message) => {
      const m = message as ConnectionOpenedMessage;
      const attributes = endpoints.of(m.endpoint);
      open.set(m.connectionId, attributes);
      openConnections.add(1, attributes);
      const end = performance.now();
      const tlsStart = end - m.tlsMs;
      const connection = { ...attributes, 'halibut.connection.id': m.connectionId };
      childSpan(m.call, 'halibut connect', tlsStart - m.dialMs, tlsStart, m.proxy === undefined ? connection : { ...connection, 'halibut.proxy': m.proxy });
      const tls: Attributes = { ...connection, 'tls.protocol.name': 'tls' };
      if (m.tlsVersion !== null) tls['tls.protocol.version'] = m.tlsVersion.replace(/^TLSv/, '');
      if (m.cipher !== undefined) tls['tls.cipher'] = m.cipher;
      childSpan(m.call, 'halibut tls', tlsStart, end, tls);
    },
    [diagnosticsChannels.connectionIdentified]: (message) => {
      const m = message as ConnectionIdentifiedMessage;
      const attributes = endpoints.of(m.endpoint);
      setupDuration.record(m.setupMs / 1000, attributes);
      const end = performance.now();
      childSpan(m.call, 'halibut identify', end - m.identifyMs, end, { ...attributes, 'halibut.connection.id': m.connectionId });
    },
    [diagnosticsChannels.connectionClosed]: (message) => {
      const m = message as ConnectionClosedMessage;
      const attributes = open.get(m.connectionId);
      if (attributes === undefined) return;
      open.delete(m.connectionId);
      openConnections.add(-1, attributes);
    },
    [diagnosticsChannels.callRetry]: (message) => {
      const m = message as CallRetryMessage;
      retries.add(1, endpoints.of(m.endpoint));
      const span = m.call === undefined ? undefined : calls.get(m.call)?.span;
      span?.addEvent('halibut.retry', { 'halibut.attempt': m.attempt, 'halibut.retries_left': m.retriesLeft, 'error.type': errorType(m.error) });
    },
    [diagnosticsChannels.poolWait]: (message) => {
      const m = message as PoolWaitMessage;
      poolWaitDuration.record(m.durationMs / 1000, { ...endpoints.of(m.endpoint), 'halibut.pool.wait.outcome': m.outcome });
    },
    [diagnosticsChannels.streamTransfer]: (message) => {
      const m = message as StreamTransferMessage;
      dataStreamIo.add(m.bytes, { ...endpoints.of(m.endpoint), 'network.io.direction': m.direction === 'send' ? 'transmit' : 'receive' });
    },
  };

  callChannel.subscribe(callHandlers);
  for (const [name, handler] of Object.entries(handlers)) subscribe(name, handler);
  let active = true;
  const uninstrument = (): void => {
    if (!active) return;
    active = false;
    callChannel.unsubscribe(callHandlers);
    for (const [name, handler] of Object.entries(handlers)) unsubscribe(name, handler);
  };
  return { uninstrument, [Symbol.dispose]: uninstrument };
}

/** `server.address` and `server.port` of endpoint URLs, parsed once per URL (a bounded cache). */
class EndpointAttributes {
  readonly #cache = new Map<string, Attributes>();

  of(url: string): Attributes {
    let attributes = this.#cache.get(url);
    if (attributes === undefined) {
      const parsed = new URL(url);
      const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
      attributes = { 'server.address': host, 'server.port': Number(parsed.port === '' ? 443 : parsed.port) };
      if (this.#cache.size >= 1000) this.#cache.clear();
      this.#cache.set(url, attributes);
    }
    return attributes;
  }
}
