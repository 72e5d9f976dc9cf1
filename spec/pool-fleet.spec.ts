// The client-wide connection limit end to end: one client, six embedded agents over real TLS, maxConnections 4.
// A call to a fifth endpoint closes an idle connection of another (seen in stats, events and the diagnostics
// channel, and by the agent), calls held by the limit are served in arrival order across endpoints, and an endpoint
// left with nothing is forgotten. spec/pool-rules.spec.ts tests the same rules alone with fake connections.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { CLIENT_DEFAULTS, HalibutClient, diagnosticsChannels, type ConnectionClosedMessage, type Endpoint, type HalibutClientOptions, type PoolWaitMessage } from '../lib/index.js';
import { ListeningAgent } from '../lib/testing/index.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { Gate } from './support/gate.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();

interface Fleet {
  agents: ListeningAgent[];
  endpoints: Endpoint[];
  /** One gate per agent, for its `Hold` method. */
  gates: Gate[];
  /** The agents' indexes, in the order their `Arrive` method was called. */
  arrivals: number[];
}

/** Six agents, each answering Ping, Hold (until its gate opens) and Arrive (recording the order calls reach it). */
async function fleet(count = 6): Promise<Fleet> {
  const gates = Array.from({ length: count }, () => new Gate());
  const arrivals: number[] = [];
  const agents = Array.from({ length: count }, (_, i) => {
    const agent = new ListeningAgent({
      certificate: ids.agent,
      trustedThumbprints: [ids.client.thumbprint],
      services: { S: { Ping: () => i, Hold: () => gates[i]!.pass().then(() => i), Arrive: () => arrivals.push(i) } },
    });
    onCleanup(() => agent.close());
    return agent;
  });
  const addresses = await Promise.all(agents.map((agent) => agent.listen({ host: '127.0.0.1', port: 0 })));
  return { agents, endpoints: addresses.map((a) => ({ url: a.url, thumbprint: a.thumbprint })), gates, arrivals };
}

function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, maxConnections: 4, ...options });
  onCleanup(() => c.close());
  return c;
}

/** Collects what is published on a diagnostics channel during `body`. */
async function recording<T>(name: string, body: (messages: T[]) => Promise<void>): Promise<void> {
  const messages: T[] = [];
  const onMessage = (message: unknown): void => void messages.push(message as T);
  subscribe(name, onMessage);
  try {
    await body(messages);
  } finally {
    unsubscribe(name, onMessage);
  }
}

describe('maxConnections across six agents', () => {
  it('is 4096 unless given, and must be a whole number of at least 1', () => {
    assert.equal(CLIENT_DEFAULTS.maxConnections, 4096);
    for (const bad of [0, 1.5, -1, Number.NaN]) {
      assert.throws(() => new HalibutClient({ certificate: ids.client, maxConnections: bad }), /Option maxConnections must be an integer ≥ 1/);
    }
  });

  it('a call to a fifth endpoint closes the least recently used idle connection of another, visibly', async () => {
    const { agents, endpoints } = await fleet();
    const c = client();
    for (let i = 0; i < 4; i++) assert.equal(await c.call(endpoints[i]!, { service: 'S', method: 'Ping' }), i);
    assert.deepEqual(c.stats(), { open: 4, idle: 4, inUse: 0, connecting: 0, waiting: 0, endpoints: 4, evicted: 0 });

    const closedEvents: string[] = [];
    c.on('connectionClosed', (e) => closedEvents.push(`${e.endpoint} ${e.reason}`));
    await recording<ConnectionClosedMessage>(diagnosticsChannels.connectionClosed, async (published) => {
      assert.equal(await c.call(endpoints[4]!, { service: 'S', method: 'Ping' }), 4);
      assert.deepEqual(c.stats(), { open: 4, idle: 4, inUse: 0, connecting: 0, waiting: 0, endpoints: 5, evicted: 1 });
      assert.deepEqual(c.stats(endpoints[0]!), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
      assert.deepEqual(closedEvents, [`${endpoints[0]!.url} evicted`]);
      assert.deepEqual(
        published.map((m) => `${m.endpoint} ${m.reason}`),
        [`${endpoints[0]!.url} evicted`],
      );
      // The agent sees its connection end (with END: it was healthy).
      await eventually(() => assert.equal(agents[0]!.connectionCount, 0));

      assert.equal(await c.call(endpoints[5]!, { service: 'S', method: 'Ping' }), 5);
      assert.equal(await c.call(endpoints[0]!, { service: 'S', method: 'Ping' }), 0);
    });
    assert.deepEqual(closedEvents, [`${endpoints[0]!.url} evicted`, `${endpoints[1]!.url} evicted`, `${endpoints[2]!.url} evicted`]);
    assert.deepEqual(c.stats(), { open: 4, idle: 4, inUse: 0, connecting: 0, waiting: 0, endpoints: 6, evicted: 3 });
    for (const i of [3, 4, 5, 0]) assert.equal(c.stats(endpoints[i]!).idle, 1);
  });

  it('serves the calls it holds in arrival order across endpoints', async () => {
    const { endpoints, gates, arrivals } = await fleet();
    const c = client({ maxConnections: 2 });
    const holding = [0, 1].map((i) => c.call(endpoints[i]!, { service: 'S', method: 'Hold' }));
    await eventually(() => assert.deepEqual([gates[0]!.entered, gates[1]!.entered], [1, 1]));

    await recording<PoolWaitMessage>(diagnosticsChannels.poolWait, async (waits) => {
      // Three calls held by the limit, in a known order: to agents 2, 3, then 0.
      const queued: Array<Promise<unknown>> = [];
      for (const i of [2, 3, 0]) {
        queued.push(c.call(endpoints[i]!, { service: 'S', method: 'Arrive' }));
        await eventually(() => assert.equal(c.stats().waiting, queued.length));
      }
      assert.deepEqual(c.stats(), { open: 2, idle: 0, inUse: 2, connecting: 0, waiting: 3, endpoints: 4, evicted: 0 });

      // Agent 0's connection comes back first. The call to agent 0 could reuse it, but the call to agent 2 came
      // first: agent 0's connection is closed to make room for it, and each later call in turn.
      gates[0]!.open();
      await Promise.all(queued);
      assert.deepEqual(arrivals, [2, 3, 0]);
      assert.deepEqual(
        waits.map((w) => `${w.endpoint} ${w.outcome} ${w.limit}`),
        [2, 3, 0].map((i) => `${endpoints[i]!.url} served maxConnections`),
      );
    });
    gates[1]!.open();
    assert.deepEqual(await Promise.all(holding), [0, 1]);
    assert.ok(c.stats().evicted >= 3, `evicted ${c.stats().evicted}`);
  });

  it('forgets an endpoint left with no connection and no waiting call after maxIdleTimeMs', async () => {
    const { agents, endpoints } = await fleet(2);
    const c = client({ maxIdleTimeMs: 100 });
    const reasons: string[] = [];
    c.on('connectionClosed', (e) => reasons.push(e.reason));
    assert.equal(await c.call(endpoints[0]!, { service: 'S', method: 'Ping' }), 0);
    assert.equal(c.stats().endpoints, 1);

    // First its idle connection expires, then the endpoint itself is forgotten.
    await eventually(() => assert.deepEqual(c.stats(), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0, endpoints: 0, evicted: 0 }), 20_000);
    assert.deepEqual(reasons, ['idle']);
    await eventually(() => assert.equal(agents[0]!.connectionCount, 0));

    // A later call starts afresh.
    assert.equal(await c.call(endpoints[0]!, { service: 'S', method: 'Ping' }), 0);
    assert.equal(c.stats().endpoints, 1);
  });
});
