// Connection setup against an agent that keeps Nagle's algorithm on, as a Tentacle does: a new connection
// (TCP + mutual TLS + pin + identification) and one call, against bare mutual-TLS handshakes, over TLS 1.3 and 1.2.
// Also measured, as a diagnostic: the same without waiting for TLS 1.3's session tickets (the client as it was),
// where MX-SERVER waits for the delayed ACK of the tickets (docs/performance.md, "Connection setup and Nagle").
import { Guid } from '../../lib/protocol/dotnet-values.js';
import type { RequestMessage } from '../../lib/protocol/message-codec.js';
import { compare, type BenchContext, type ScenarioResult } from '../support/context.js';
import { bareHandshake, openConnection } from '../support/open-connection.js';
import { spawnPeer } from '../support/spawn-peer.js';
import { forDuration, percentile, stats } from '../support/stats.js';

type Version = 'TLSv1.2' | 'TLSv1.3';

const round = (n: number): number => Number(n.toFixed(2));

export async function nagle(ctx: BenchContext): Promise<ScenarioResult[]> {
  const peer = await spawnPeer(ctx.identity.thumbprint, 1, { tcpNoDelay: false });
  try {
    const { url, thumbprint } = peer.endpoints[0]!;
    return [await measure(ctx, url, thumbprint as string, peer.rawPort, 'TLSv1.3'), await measure(ctx, url, thumbprint as string, peer.rawPort, 'TLSv1.2')];
  } finally {
    await peer.stop();
  }
}

async function measure(ctx: BenchContext, url: string, pin: string, rawPort: number, version: Version): Promise<ScenarioResult> {
  const request: RequestMessage = { id: 'bench', activityId: Guid.parse('00000000-0000-0000-0000-000000000000'), endpoint: null, service: 'IBenchService', method: 'Echo', params: ['x'] };
  /**
   * A new connection and one call; `sessionTicketWaitMs: 0` is the client without the wait. Counts the connections
   * whose MX-SERVER came more than 30 ms after the last session ticket: the delayed-ACK stall.
   */
  const stalls = { ours: 0, withoutWait: 0 };
  /** From the end of the handshake to MX-SERVER: where the stall shows, apart from the handshake's CPU time. */
  const identification: { ours: number[]; withoutWait: number[] } = { ours: [], withoutWait: [] };
  const connectAndCall = (sessionTicketWaitMs?: number) => async (): Promise<void> => {
    const which = sessionTicketWaitMs === 0 ? 'withoutWait' : 'ours';
    let lastTicket: number | undefined;
    let secured = 0;
    const connection = await openConnection(ctx, url, pin, { maxVersion: version, sessionTicketWaitMs }, (tls) => {
      secured = performance.now();
      tls.on('session', () => (lastTicket = performance.now()));
    });
    const identified = performance.now();
    identification[which].push(identified - secured);
    if (lastTicket !== undefined && identified - lastTicket > 30) stalls[which]++;
    await connection.exchange(request);
    connection.destroy();
  };
  const ours = connectAndCall();
  const withoutWait = connectAndCall(0);
  const bare = (): Promise<void> => bareHandshake(ctx, pin, version, rawPort);
  for (let i = 0; i < 10; i++) {
    await ours();
    await withoutWait();
    await bare();
  }
  stalls.ours = stalls.withoutWait = 0;
  identification.ours.length = identification.withoutWait.length = 0;
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  const latencies: number[] = [];
  const latenciesWithoutWait: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const o = await forDuration(ctx.roundMs, ours);
    a.push(o.perSecond);
    latencies.push(...o.latencies);
    const w = await forDuration(ctx.roundMs, withoutWait);
    c.push(w.perSecond);
    latenciesWithoutWait.push(...w.latencies);
    b.push((await forDuration(ctx.roundMs, bare)).perSecond);
  }
  const share = (n: number, l: number[]): number => round(n / l.length);
  return compare(
    {
      scenario: `connection setup + call, agent with Nagle on, ${version}`,
      unit: 'connections/s',
      value: stats(a),
      baselineName: `bare mutual-TLS handshakes, ${version}`,
      baseline: stats(b),
      extra: {
        medianMs: round(percentile(latencies, 50)),
        p90Ms: round(percentile(latencies, 90)),
        identificationMedianMs: round(percentile(identification.ours, 50)),
        stalledShare: share(stalls.ours, latencies),
        withoutTicketWaitPerSecond: round(stats(c).median),
        withoutTicketWaitMedianMs: round(percentile(latenciesWithoutWait, 50)),
        withoutTicketWaitIdentificationMedianMs: round(percentile(identification.withoutWait, 50)),
        withoutTicketWaitStalledShare: share(stalls.withoutWait, latenciesWithoutWait),
      },
    },
    0.9,
  );
}
