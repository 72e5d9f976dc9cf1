// halibut-client/opentelemetry over real TLS calls to the embedded agent, recorded by the SDK's in-memory span
// exporter and a metric reader collected on demand: spans, attributes, parent/child links and metric values for
// successful, failed, retried and aborted calls, data streams and pool waits; and nothing once uninstrumented.
import assert from 'node:assert/strict';
import { tracingChannel } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SpanKind, SpanStatusCode, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { CallAbortedError, DataStream, HalibutClient, ServiceInvocationError, diagnosticsChannels, type HalibutClientOptions } from '../lib/index.js';
import { METRICS, instrument, type Instrumentation } from '../lib/opentelemetry/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { Forwarder } from './support/forwarder.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

/** A metric reader the test collects from when it wants to look. */
class CollectingReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let exporter: InMemorySpanExporter;
let tracerProvider: BasicTracerProvider;
let reader: CollectingReader;
let instrumentation: Instrumentation;


function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, ...options });
  onCleanup(() => c.close());
  return c;
}

/** The data points of one metric, with its unit. */
async function metric(name: string): Promise<{ unit: string; points: Array<DataPoint<unknown>> }> {
  const { resourceMetrics } = await reader.collect();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) if (m.descriptor.name === name) return { unit: m.descriptor.unit, points: m.dataPoints };
  }
  return { unit: '', points: [] };
}

const histogram = (p: DataPoint<unknown> | undefined): Histogram => p?.value as Histogram;
const spansNamed = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);

describe('halibut-client/opentelemetry', () => {
  // Each test gets its own exporter, reader and instrumentation.
  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    reader = new CollectingReader();
    instrumentation = instrument({ tracerProvider, meterProvider: new MeterProvider({ readers: [reader] }) });
  });
  afterEach(() => {
    instrumentation.uninstrument();
  });

  it('records a client span per call, a child of the caller’s span, with connect, TLS and identify children, and the metrics', async () => {
    const { endpoint } = await startAgent({ services: { S: { Echo: (s: string) => s } } });
    const c = client();
    const tracer = tracerProvider.getTracer('test');
    const parent = await tracer.startActiveSpan('parent', async (span) => {
      assert.equal(await c.call(endpoint, { service: 'S', method: 'Echo', params: ['hello'] }), 'hello');
      span.end();
      return span;
    });
    const [call] = spansNamed('S/Echo');
    assert.ok(call !== undefined);
    const port = Number(new URL(endpoint.url).port);
    assert.equal(call.kind, SpanKind.CLIENT);
    assert.deepEqual(call.attributes, {
      'rpc.system': 'halibut',
      'rpc.service': 'S',
      'rpc.method': 'Echo',
      'server.address': '127.0.0.1',
      'server.port': port,
      'halibut.call.id': call.attributes['halibut.call.id'],
      'halibut.call.attempts': 1,
      'halibut.call.request_started': true,
    });
    assert.match(String(call.attributes['halibut.call.id']), /^S::Echo\[\d+\] \//);
    assert.equal(call.status.code, SpanStatusCode.UNSET);
    assert.equal(call.spanContext().traceId, parent.spanContext().traceId);
    assert.equal(call.parentSpanContext?.spanId, parent.spanContext().spanId, 'the call span is a child of the active span');

    const children = ['halibut connect', 'halibut tls', 'halibut identify'].map((name) => {
      const [span] = spansNamed(name);
      assert.ok(span !== undefined, name);
      assert.equal(span.parentSpanContext?.spanId, call.spanContext().spanId, `${name} is a child of the call`);
      return span;
    });
    const [connect, tls, identify] = children as [ReadableSpan, ReadableSpan, ReadableSpan];
    assert.match(String(tls.attributes['tls.protocol.version']), /^1\.[23]$/);
    assert.match(String(tls.attributes['tls.cipher']), /^TLS_/);
    assert.equal(connect.attributes['server.port'], port);
    // In order, inside the call.
    const ms = (t: [number, number]): number => t[0] * 1000 + t[1] / 1e6;
    assert.ok(ms(connect.startTime) >= ms(call.startTime) - 1);
    assert.ok(ms(connect.endTime) <= ms(tls.startTime) + 1 && ms(tls.endTime) <= ms(identify.startTime) + 1);
    assert.ok(ms(identify.endTime) <= ms(call.endTime) + 1);

    // A second call, outside any span, on the pooled connection: a root span and no connection spans.
    await c.call(endpoint, { service: 'S', method: 'Echo', params: ['again'] });
    const second = spansNamed('S/Echo')[1]!;
    assert.equal(second.parentSpanContext, undefined);
    assert.equal(spansNamed('halibut connect').length, 1);

    const duration = await metric(METRICS.callDuration);
    assert.equal(duration.unit, 's');
    assert.equal(duration.points.length, 1);
    assert.deepEqual(duration.points[0]!.attributes, { 'rpc.system': 'halibut', 'rpc.service': 'S', 'rpc.method': 'Echo', 'server.address': '127.0.0.1', 'server.port': port });
    const h = histogram(duration.points[0]);
    assert.equal(h.count, 2);
    assert.ok(h.sum !== undefined && h.sum > 0 && h.sum < 10);
    const openConnections = await metric(METRICS.openConnections);
    assert.equal(openConnections.unit, '{connection}');
    assert.equal(openConnections.points[0]!.value, 1);
    assert.equal(histogram((await metric(METRICS.connectionSetupDuration)).points[0]).count, 1);
    await c.close();
    assert.equal((await metric(METRICS.openConnections)).points[0]!.value, 0);
  });

  it('keeps the connection spans inside their call, in order, when the wall clock and the monotonic clock disagree', async () => {
    const { endpoint } = await startAgent({ services: { S: { Echo: (s: string) => s } } });
    const c = client();
    // A long-lived process sees Date.now() and performance.timeOrigin + performance.now() drift apart; a
    // minute of difference makes any span timed on the other clock land far outside its parent.
    const realNow = Date.now;
    Date.now = () => realNow() + 60_000;
    try {
      await c.call(endpoint, { service: 'S', method: 'Echo', params: ['x'] });
    } finally {
      Date.now = realNow;
    }
    const ms = (t: [number, number]): number => t[0] * 1000 + t[1] / 1e6;
    const [call] = spansNamed('S/Echo');
    assert.ok(call !== undefined);
    let previousEnd = ms(call.startTime);
    for (const name of ['halibut connect', 'halibut tls', 'halibut identify']) {
      const [span] = spansNamed(name);
      assert.ok(span !== undefined, name);
      assert.ok(ms(span.startTime) >= previousEnd - 1, `${name} starts after what came before it`);
      assert.ok(ms(span.endTime) >= ms(span.startTime), `${name} ends after it starts`);
      previousEnd = ms(span.endTime);
    }
    assert.ok(previousEnd <= ms(call.endTime) + 1, 'identification ends inside the call');
  });

  it('marks a failed call ERROR with error.type, in the span and the duration metric', async () => {
    const { endpoint } = await startAgent({
      services: {
        S: {
          Throw: () => {
            throw new Error('refused');
          },
        },
      },
    });
    const thrown = await client({ retry: false })
      .call(endpoint, { service: 'S', method: 'Throw' })
      .catch((err: unknown) => err);
    assert.ok(thrown instanceof ServiceInvocationError);
    const [span] = spansNamed('S/Throw');
    assert.ok(span !== undefined);
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.status.message, thrown.message);
    assert.equal(span.attributes['error.type'], thrown.code);
    assert.equal(span.events.filter((e) => e.name === 'exception').length, 1);
    const duration = await metric(METRICS.callDuration);
    assert.equal(duration.points[0]!.attributes['error.type'], thrown.code);
    assert.equal(histogram(duration.points[0]).count, 1);
  });

  it('records retries as span events and a counter; only the connection that got through has connection spans', async () => {
    const { endpoint } = await startAgent({ services: { S: { Ping: () => 'pong' } } });
    const forwarder = await Forwarder.start(endpoint);
    forwarder.onData = (link) => {
      if (forwarder.accepted <= 2) link.reset();
    };
    assert.equal(await client({ retry: { attempts: 5, delayMs: 1 } }).call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Ping' }), 'pong');
    const [span] = spansNamed('S/Ping');
    assert.ok(span !== undefined);
    assert.equal(span.attributes['halibut.call.attempts'], 3);
    assert.equal(span.status.code, SpanStatusCode.UNSET);
    const retries = span.events.filter((e) => e.name === 'halibut.retry');
    assert.deepEqual(
      retries.map((e) => e.attributes?.['halibut.attempt']),
      [1, 2],
    );
    for (const e of retries) assert.equal(typeof e.attributes?.['error.type'], 'string');
    const counter = await metric(METRICS.retries);
    assert.equal(counter.points[0]!.value, 2);
    assert.equal(spansNamed('halibut tls').length, 1);
  });

  it('records an aborted call as ERR_ABORTED, with the request started', async () => {
    const controller = new AbortController();
    let release!: () => void;
    const never = new Promise<void>((resolve) => (release = resolve));
    onCleanup(() => release());
    const { endpoint } = await startAgent({
      services: {
        S: {
          Wait: async () => {
            controller.abort(new Error('stop'));
            await never;
            return 'late';
          },
        },
      },
    });
    const c = client();
    const thrown = await c.call(endpoint, { service: 'S', method: 'Wait' }, { signal: controller.signal }).catch((err: unknown) => err);
    assert.ok(thrown instanceof CallAbortedError);
    const [span] = spansNamed('S/Wait');
    assert.ok(span !== undefined);
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'ERR_ABORTED');
    assert.equal(span.attributes['halibut.call.request_started'], true);
    // The aborted call's connection was destroyed: nothing is left open.
    assert.equal((await metric(METRICS.openConnections)).points[0]!.value, 0);
  });

  it('counts data stream bytes by direction and records pool waits', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    onCleanup(() => release());
    const { endpoint } = await startAgent({
      services: {
        S: {
          Length: async (d: DataStream) => (await d.toBuffer()).length,
          Give: (n: number) => DataStream.fromBuffer(Buffer.alloc(n, 3)),
          Hold: async () => {
            await held;
            return 'held';
          },
        },
      },
    });
    const c = client({ maxConnectionsPerEndpoint: 1 });
    assert.equal(await c.call(endpoint, { service: 'S', method: 'Length', params: [DataStream.fromBuffer(Buffer.alloc(100_000))] }), 100_000);
    const download = (await c.call(endpoint, { service: 'S', method: 'Give', params: [300_000] })) as DataStream;
    await download.toBuffer();
    const io = await metric(METRICS.dataStreamIo);
    assert.equal(io.unit, 'By');
    const byDirection: Record<string, unknown> = {};
    for (const p of io.points) byDirection[String(p.attributes['network.io.direction'])] = p.value;
    assert.deepEqual(byDirection, { transmit: 100_000, receive: 300_000 });

    const holding = c.call(endpoint, { service: 'S', method: 'Hold' });
    const waiting = c.call(endpoint, { service: 'S', method: 'Give', params: [1] });
    await eventually(() => assert.equal(c.stats(endpoint).waiting, 1));
    release();
    await holding;
    await ((await waiting) as DataStream).toBuffer();
    const waits = await metric(METRICS.poolWaitDuration);
    assert.equal(waits.unit, 's');
    assert.equal(waits.points.length, 1);
    assert.equal(waits.points[0]!.attributes['halibut.pool.wait.outcome'], 'served');
    assert.equal(histogram(waits.points[0]).count, 1);
  });

  it('records nothing once uninstrumented, and leaves the call channel with no subscriber', async () => {
    const { endpoint } = await startAgent({ services: { S: { Echo: (s: string) => s } } });
    instrumentation.uninstrument();
    instrumentation.uninstrument();
    assert.equal(tracingChannel(diagnosticsChannels.call).hasSubscribers, false);
    await client().call(endpoint, { service: 'S', method: 'Echo', params: ['x'] });
    assert.deepEqual(exporter.getFinishedSpans(), []);
    // `using` ends it too.
    {
      using again = instrument({ tracerProvider });
      assert.ok(typeof again.uninstrument === 'function');
      assert.equal(tracingChannel(diagnosticsChannels.call).hasSubscribers, true);
    }
    assert.equal(tracingChannel(diagnosticsChannels.call).hasSubscribers, false);
  });
});
