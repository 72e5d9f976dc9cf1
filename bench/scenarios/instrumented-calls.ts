// The cost of the OpenTelemetry instrumentation: pooled calls from one caller with `instrument()` on against the
// same calls with it off, in alternating rounds of the same run. Spans go through a batch processor to an exporter
// that drops them, and metrics are aggregated in memory, as an application exporting in the background would have
// it (an exporter that kept the spans would add garbage collection of its own to the figure). Run
// with no context manager, then with the AsyncLocalStorage one that applications use for parent/child links (which
// costs every promise in the process something, instrumented or not, so both sides of that comparison run with it).
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { HalibutClient } from '../../lib/index.js';
import { instrument, type Instrumentation } from '../../lib/opentelemetry/index.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { forDuration, stats } from '../support/stats.js';

const TEXT = 'x'.repeat(100);

/** Accepts every batch and keeps nothing. */
class DroppingExporter extends InMemorySpanExporter {
  override export(...[, done]: Parameters<InMemorySpanExporter['export']>): void {
    super.export([], done);
  }
}

class IdleReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export async function instrumentedCalls(ctx: BenchContext): Promise<ScenarioResult[]> {
  const results = [await compareOnOff(ctx, 'no context manager')];
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  try {
    results.push(await compareOnOff(ctx, 'AsyncLocalStorage context manager'));
  } finally {
    context.disable();
  }
  return results;
}

async function compareOnOff(ctx: BenchContext, label: string): Promise<ScenarioResult> {
  const endpoint = ctx.peer.endpoints[0]!;
  const client = new HalibutClient({ certificate: ctx.identity });
  const call = async (): Promise<void> => {
    await client.call(endpoint, { service: 'IBenchService', method: 'Echo', params: [TEXT] });
  };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new DroppingExporter())] });
  const meterProvider = new MeterProvider({ readers: [new IdleReader()] });
  let instrumentation: Instrumentation | undefined = instrument({ tracerProvider, meterProvider });
  for (let i = 0; i < 200; i++) await call();
  instrumentation.uninstrument();
  instrumentation = undefined;
  for (let i = 0; i < 200; i++) await call();

  const on: number[] = [];
  const off: number[] = [];
  const paired: number[] = [];
  // CPU time per call in this process: steadier than calls/s on a loaded machine, and all of the added work is here.
  const cpuOn: number[] = [];
  const cpuOff: number[] = [];
  const measure = async (instrumented: boolean): Promise<number> => {
    if (instrumented) instrumentation = instrument({ tracerProvider, meterProvider });
    const cpu = process.cpuUsage();
    try {
      const { perSecond, latencies } = await forDuration(ctx.roundMs, call);
      const used = process.cpuUsage(cpu);
      (instrumented ? cpuOn : cpuOff).push((used.user + used.system) / latencies.length);
      return perSecond;
    } finally {
      instrumentation?.uninstrument();
      instrumentation = undefined;
    }
  };
  for (let r = 0; r < ctx.rounds; r++) {
    // Alternating which goes first cancels a drift in the machine's load between the two halves of a round.
    const first = r % 2 === 0;
    const a = await measure(first);
    const b = await measure(!first);
    const [withIt, without] = first ? [a, b] : [b, a];
    on.push(withIt);
    off.push(without);
    paired.push(withIt / without);
  }
  await client.close();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  return compare(
    {
      scenario: `calls with OpenTelemetry on, 1 caller (${label})`,
      unit: 'calls/s',
      value: stats(on),
      baselineName: 'the same calls with the instrumentation off, alternating rounds',
      baseline: stats(off),
      extra: {
        pairedRatioMedian: Number(stats(paired).median.toFixed(3)),
        clientCpuUsPerCallOn: Number(stats(cpuOn).median.toFixed(1)),
        clientCpuUsPerCallOff: Number(stats(cpuOff).median.toFixed(1)),
      },
    },
    0.85,
  );
}
