// 4: new connections per second, TCP + mutual TLS + pin + identification, against bare mutual-TLS handshakes.
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { bareHandshake, openConnection } from '../support/open-connection.js';
import { forDuration, stats } from '../support/stats.js';

export async function connectionSetup(ctx: BenchContext): Promise<ScenarioResult> {
  const endpoint = ctx.peer.endpoints[0]!;
  const pin = endpoint.thumbprint as string;
  const ours = async (): Promise<void> => (await openConnection(ctx, endpoint.url, pin)).destroy();
  // The server writes only after verifying our certificate: a full mutual handshake.
  const bare = (): Promise<void> => bareHandshake(ctx, pin);
  for (let i = 0; i < 20; i++) {
    await ours();
    await bare();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    a.push((await forDuration(ctx.roundMs, ours)).perSecond);
    b.push((await forDuration(ctx.roundMs, bare)).perSecond);
  }
  return compare(
    {
      scenario: 'connection setup',
      unit: 'connections/s',
      value: stats(a),
      baselineName: 'bare mutual-TLS handshakes (until the first byte after client verification)',
      baseline: stats(b),
    },
    0.9,
  );
}
