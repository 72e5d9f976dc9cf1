// 1 and 2: small calls on pooled connections against raw TLS doing the same round trips with the same byte counts.
import { deflateRawSync } from 'node:zlib';
import { Guid, HalibutClient } from '../../lib/index.js';
import { describeEndpoint } from '../../lib/protocol/endpoint-description.js';
import { encodeRequest, encodeResponse } from '../../lib/protocol/message-codec.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { rawConnect, readExact, write } from '../support/raw-client.js';
import { concurrently, forDuration, percentile, stats } from '../support/stats.js';

const TEXT = 'x'.repeat(100);

/** The compressed sizes of the request and response a call to Echo(TEXT) puts on the wire. */
function wireSizes(url: string, thumbprint: string): { request: number; response: number } {
  const activityId = Guid.random();
  const request = encodeRequest({
    id: `IBenchService::Echo[1] / ${activityId.toString()}`,
    activityId,
    endpoint: describeEndpoint({ url, thumbprint, connectTimeoutMs: 60_000, retryAttempts: 5, retryDelayMs: 1000, retryWindowMs: 300_000 }),
    service: 'IBenchService',
    method: 'Echo',
    params: [TEXT],
  });
  const response = encodeResponse({ id: `IBenchService::Echo[1] / ${activityId.toString()}`, error: null, result: TEXT });
  return { request: deflateRawSync(request.bson).length, response: deflateRawSync(response.bson).length };
}

const NEXT = Buffer.from('NEXT\r\n');

async function rawRoundTrips(ctx: BenchContext, connections: number, sizes: { request: number; response: number }) {
  const sockets = await Promise.all(Array.from({ length: connections }, () => rawConnect(ctx.peer.rawPort, ctx.identity, ctx.peer.endpoints[0]!.thumbprint as string)));
  const header = Buffer.alloc(9);
  header.write('R', 0);
  header.writeUInt32LE(sizes.request, 1);
  header.writeUInt32LE(sizes.response, 5);
  for (const s of sockets) s.write(header);
  const request = Buffer.alloc(sizes.request, 2);
  const once = async (s: (typeof sockets)[number]): Promise<void> => {
    await write(s, NEXT);
    await readExact(s, 9);
    await write(s, request);
    await readExact(s, sizes.response);
  };
  return {
    once,
    sockets,
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

export async function pooledCalls(ctx: BenchContext): Promise<ScenarioResult> {
  const endpoint = ctx.peer.endpoints[0]!;
  const client = new HalibutClient({ certificate: ctx.identity });
  const call = async (): Promise<void> => {
    await client.call(endpoint, { service: 'IBenchService', method: 'Echo', params: [TEXT] });
  };
  const sizes = wireSizes(endpoint.url, endpoint.thumbprint as string);
  const raw = await rawRoundTrips(ctx, 1, sizes);
  const rawOnce = (): Promise<void> => raw.once(raw.sockets[0]!);
  for (let i = 0; i < 200; i++) {
    await call();
    await rawOnce();
  }
  const ours: number[] = [];
  const base: number[] = [];
  const latencies: number[] = [];
  const baseLatencies: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const a = await forDuration(ctx.roundMs, call);
    ours.push(a.perSecond);
    latencies.push(...a.latencies);
    const b = await forDuration(ctx.roundMs, rawOnce);
    base.push(b.perSecond);
    baseLatencies.push(...b.latencies);
  }
  raw.close();
  await client.close();
  return compare(
    {
      scenario: 'calls on a pooled connection',
      unit: 'calls/s',
      value: stats(ours),
      baselineName: `raw TLS: NEXT/PROCEED + ${sizes.request} B request + ${sizes.response} B response`,
      baseline: stats(base),
      extra: {
        p50Ms: Number(percentile(latencies, 50).toFixed(3)),
        p99Ms: Number(percentile(latencies, 99).toFixed(3)),
        baselineP50Ms: Number(percentile(baseLatencies, 50).toFixed(3)),
        baselineP99Ms: Number(percentile(baseLatencies, 99).toFixed(3)),
      },
    },
    0.8,
  );
}

export async function parallelCalls(ctx: BenchContext, workers: number): Promise<ScenarioResult> {
  const endpoint = ctx.peer.endpoints[0]!;
  const client = new HalibutClient({ certificate: ctx.identity, maxConnectionsPerEndpoint: workers, maxIdlePerEndpoint: workers });
  const call = async (): Promise<void> => {
    await client.call(endpoint, { service: 'IBenchService', method: 'Echo', params: [TEXT] });
  };
  const raw = await rawRoundTrips(ctx, workers, wireSizes(endpoint.url, endpoint.thumbprint as string));
  await concurrently(workers, 200, call);
  const ours: number[] = [];
  const base: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    ours.push(await concurrently(workers, ctx.roundMs, call));
    base.push(await concurrently(workers, ctx.roundMs, (w) => raw.once(raw.sockets[w]!)));
  }
  raw.close();
  await client.close();
  return compare({
    scenario: `parallel calls, ${workers} caller${workers === 1 ? '' : 's'}`,
    unit: 'calls/s',
    value: stats(ours),
    baselineName: `raw TLS, ${workers} connection${workers === 1 ? '' : 's'}, same round trips`,
    baseline: stats(base),
  });
}
