// 3: DataStream upload and download against raw TLS moving the same bytes on one connection; and how much the
// client's memory grows while it does (streams must never be buffered whole).
import { DataStream, HalibutClient } from '../../lib/index.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { rawConnect, readExact, u64, write } from '../support/raw-client.js';
import { stats } from '../support/stats.js';
import { blocks } from '../support/blocks.js';

const MB = 1e6;


/** Runs `fn` and returns its duration and the peak growth of this process's RSS meanwhile. */
async function timedWithRss(fn: () => Promise<void>): Promise<{ ms: number; rssGrowth: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  const start = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { ms: performance.now() - start, rssGrowth: peak - before };
}

export async function dataStreams(ctx: BenchContext, direction: 'upload' | 'download'): Promise<ScenarioResult> {
  const size = (ctx.quick ? 32 : 256) * 1024 * 1024;
  const endpoint = ctx.peer.endpoints[0]!;
  const pin = endpoint.thumbprint as string;
  const client = new HalibutClient({ certificate: ctx.identity });
  const ours = async (): Promise<void> => {
    if (direction === 'upload') {
      const got = await client.call(endpoint, { service: 'IBenchService', method: 'Sink', params: [DataStream.fromReadable(() => blocks(size), size)] });
      if (got !== size) throw new Error(`agent received ${String(got)} bytes`);
    } else {
      const stream = (await client.call(endpoint, { service: 'IBenchService', method: 'Source', params: [size] })) as DataStream;
      let got = 0;
      for await (const chunk of stream.readable()) got += (chunk as Buffer).length;
      if (got !== size) throw new Error(`received ${got} bytes`);
    }
  };
  const raw = async (): Promise<void> => {
    const socket = await rawConnect(ctx.peer.rawPort, ctx.identity, pin);
    if (direction === 'upload') {
      await write(socket, Buffer.concat([Buffer.from('U'), u64(size)]));
      for await (const chunk of blocks(size)) await write(socket, chunk as Buffer);
      await readExact(socket, 8);
    } else {
      await write(socket, Buffer.concat([Buffer.from('D'), u64(size)]));
      let got = 0;
      for await (const chunk of socket) got += (chunk as Buffer).length;
      if (got !== size) throw new Error(`raw received ${got} bytes`);
    }
    socket.destroy();
  };
  await ours(); // warm-up (and the connection)
  const oursRates: number[] = [];
  const rawRates: number[] = [];
  let rssGrowth = 0;
  for (let r = 0; r < ctx.rounds; r++) {
    const a = await timedWithRss(ours);
    oursRates.push(size / MB / (a.ms / 1000));
    rssGrowth = Math.max(rssGrowth, a.rssGrowth);
    const b = await timedWithRss(raw);
    rawRates.push(size / MB / (b.ms / 1000));
  }
  await client.close();
  const result = compare(
    {
      scenario: `DataStream ${direction}, ${size / 1024 / 1024} MiB`,
      unit: 'MB/s',
      value: stats(oursRates),
      baselineName: 'raw TLS, one connection, same bytes',
      baseline: stats(rawRates),
      extra: { peakRssGrowthMiB: Number((rssGrowth / 1024 / 1024).toFixed(1)) },
    },
    0.85,
  );
  // The second half of the target: memory stays flat whatever the size.
  if (result.targetMet !== undefined) {
    result.target = `${result.target ?? ''}, RSS growth < 64 MiB`;
    result.targetMet = result.targetMet && rssGrowth < 64 * 1024 * 1024;
  }
  return result;
}
