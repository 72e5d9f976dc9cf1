// The pool's worth: sequential calls over one reused connection against a new connection for every call.
import { HalibutClient } from '../../lib/index.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { forDuration, stats } from '../support/stats.js';

export async function poolVersusFresh(ctx: BenchContext): Promise<ScenarioResult> {
  const endpoint = ctx.peer.endpoints[0]!;
  const pooled = new HalibutClient({ certificate: ctx.identity });
  const fresh = new HalibutClient({ certificate: ctx.identity, maxIdlePerEndpoint: 0 });
  const request = { service: 'IBenchService', method: 'Echo', params: ['x'.repeat(100)] };
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 20; i++) {
    await pooled.call(endpoint, request);
    await fresh.call(endpoint, request);
  }
  for (let r = 0; r < ctx.rounds; r++) {
    a.push((await forDuration(ctx.roundMs, async () => {
      await pooled.call(endpoint, request);
    })).perSecond);
    b.push((await forDuration(ctx.roundMs, async () => {
      await fresh.call(endpoint, request);
    })).perSecond);
  }
  await pooled.close();
  await fresh.close();
  return compare({
    scenario: 'sequential calls through the pool',
    unit: 'calls/s',
    value: stats(a),
    baselineName: 'one new connection per call (maxIdlePerEndpoint: 0)',
    baseline: stats(b),
  });
}
