// Tracing and metrics with OpenTelemetry: every call becomes a client span (a child of whatever span is active when
// it is made), new connections get connect / TLS / identify child spans, and call durations, open connections,
// pool waits and data stream bytes are recorded as metrics.
//
// Against a real Tentacle:
//   HALIBUT_URL=https://tentacle-01:10933/ HALIBUT_THUMBPRINT=<agent thumbprint> \
//   HALIBUT_PFX=octopus.pfx HALIBUT_PFX_PASSWORD=… npx tsx examples/opentelemetry.ts
// Without those variables it starts the embedded Tentacle agent.
//
// A real application exports with OTLP (e.g. @opentelemetry/sdk-node with its OTLP exporters) and registers its
// providers globally; `instrument()` then needs no arguments. Here everything stays in memory and is printed.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader, type Histogram } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { HalibutClient, TentacleClient, generateCertificate, loadCertificateFiles, type Endpoint } from 'halibut-client';
import { instrument } from 'halibut-client/opentelemetry';
import { startTentacleAgent } from 'halibut-client/testing';

/** A metric reader this example collects from when it wants to print. */
class OnDemandReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

// 1. The OpenTelemetry SDK: a context manager (so that spans nest across awaits), a tracer and a meter provider.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
trace.setGlobalTracerProvider(tracerProvider);
const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });

// 2. Instrument halibut-client. With providers registered globally, `instrument()` alone would do.
const instrumentation = instrument({ tracerProvider, meterProvider });

const env = process.env;
const certificate =
  env['HALIBUT_PFX'] !== undefined
    ? await loadCertificateFiles({ pfx: env['HALIBUT_PFX'], password: env['HALIBUT_PFX_PASSWORD'] ?? '' })
    : await generateCertificate({ commonName: 'example deployment server' });
let endpoint: Endpoint;
let cleanup = async (): Promise<void> => undefined;
if (env['HALIBUT_URL'] !== undefined && env['HALIBUT_THUMBPRINT'] !== undefined) {
  endpoint = { url: env['HALIBUT_URL'], thumbprint: env['HALIBUT_THUMBPRINT'] };
} else {
  const local = await startTentacleAgent({ certificate: await generateCertificate({ commonName: 'example tentacle' }), trustedThumbprints: [certificate.thumbprint] });
  endpoint = local.endpoint;
  cleanup = () => local.close();
}

const halibut = new HalibutClient({ certificate });
const tentacle = new TentacleClient(halibut);
try {
  // 3. The application's own span: the calls made inside it become its children.
  await trace.getTracer('deployment').startActiveSpan('deploy MyApp 1.2.3', async (deploy) => {
    const capabilities = await tentacle.capabilities(endpoint);
    console.log(`The agent offers ${capabilities.supported.join(', ')}`);
    const result = await tentacle.runScript(endpoint, { body: 'echo deploying' }).result;
    console.log(`The script exited with ${result.exitCode}`);
    deploy.end();
  });
} finally {
  await halibut.close();
  await cleanup();
  instrumentation.uninstrument();
}

// 4. What was recorded: the span tree, then the metrics.
const finished = spans.getFinishedSpans();
const children = (parent: ReadableSpan | undefined): ReadableSpan[] =>
  finished.filter((s) => (parent === undefined ? s.parentSpanContext === undefined : s.parentSpanContext?.spanId === parent.spanContext().spanId));
const ms = (s: ReadableSpan): string => `${(s.duration[0] * 1000 + s.duration[1] / 1e6).toFixed(1)} ms`;
const print = (span: ReadableSpan, depth: number): void => {
  const detail = span.attributes['rpc.system'] === undefined ? '' : `  attempts=${String(span.attributes['halibut.call.attempts'])}`;
  console.log(`${'  '.repeat(depth)}${span.name} (${ms(span)})${detail}`);
  for (const child of children(span)) print(child, depth + 1);
};
console.log('\nSpans:');
for (const root of children(undefined)) print(root, 1);

console.log('\nMetrics:');
const { resourceMetrics } = await reader.collect();
for (const scope of resourceMetrics.scopeMetrics) {
  for (const metric of scope.metrics) {
    for (const point of metric.dataPoints) {
      const value = typeof point.value === 'number' ? point.value : `count=${(point.value as Histogram).count} sum=${(point.value as Histogram).sum?.toFixed(4) ?? '?'}`;
      const labels = Object.entries(point.attributes)
        .filter(([key]) => key !== 'server.address' && key !== 'server.port')
        .map(([key, v]) => `${key}=${String(v)}`)
        .join(' ');
      console.log(`  ${metric.descriptor.name} [${metric.descriptor.unit}] ${labels} ${value}`);
    }
  }
}
if (!finished.some((s) => s.attributes['rpc.system'] === 'halibut')) throw new Error('no call was traced');
