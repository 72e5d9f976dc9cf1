// 4: new connections per second, TCP + mutual TLS + pin + identification, against bare mutual-TLS handshakes.
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { bareHandshake, openConnection } from '../support/open-connection.js';
import { againstBaseline, stats } from '../support/stats.js';

export async function connectionSetup(ctx: BenchContext): Promise<ScenarioResult> {
  const endpoint = ctx.peer.endpoints[0]!;
  const pin = endpoint.thumbprint as string;
  const ours = async (): Promise<void> => (await openConnection(ctx, endpoint.url, pin)).destroy();
  // The server writes only after verifying our certificate: a full mutual handshake.
  const bare = (): Promise<void> => bareHandshake(ctx, pin);
  const measured = await againstBaseline(ctx.rounds, ctx.roundMs, 20, ours, bare);
  return compare(
    {
      scenario: 'connection setup',
      unit: 'connections/s',
      value: stats(measured.ours),
      baselineName: 'bare mutual-TLS handshakes (until the first byte after client verification)',
      baseline: stats(measured.baseline),
    },
    0.9,
  );
}
