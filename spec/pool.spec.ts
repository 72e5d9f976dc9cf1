// The pool against a real agent: reuse, limits, the wait queue, clearing, closing, and the events it reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallAbortedError, ClientClosedError, WaitQueueTimeoutError, type ClientEvents } from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { Gate } from './support/gate.js';

closeEverythingAfterwards();

describe('the connection pool', () => {
  it('runs 1,000 sequential calls over exactly one connection', async () => {
    const { client, endpoint, connections } = await startAgent({ services: { S: { Ping: (n: number) => n + 1 } } });
    for (let i = 0; i < 1000; i++) assert.equal(await client.call(endpoint, { service: 'S', method: 'Ping', params: [i] }), i + 1);
    assert.equal(connections(), 1);
    assert.deepEqual(client.stats(endpoint), { open: 1, idle: 1, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('opens at most maxConnectionsPerEndpoint for 32 parallel calls, and all succeed', async () => {
    let running = 0;
    let peak = 0;
    const batch: Array<() => void> = [];
    const { client, endpoint, connections } = await startAgent(
      {
        services: {
          S: {
            // Calls wait until eight are running at once, so the limit is really reached.
            async Work(n: number) {
              running++;
              peak = Math.max(peak, running);
              if (running === 8) for (const r of batch.splice(0)) r();
              else await new Promise<void>((resolve) => batch.push(resolve));
              running--;
              return n;
            },
          },
        },
      },
      { maxConnectionsPerEndpoint: 8 },
    );
    const results = await Promise.all(Array.from({ length: 32 }, (_, i) => client.call(endpoint, { service: 'S', method: 'Work', params: [i] })));
    assert.deepEqual(results, Array.from({ length: 32 }, (_, i) => i));
    assert.equal(peak, 8);
    assert.equal(connections(), 8);
    assert.equal(client.stats(endpoint).open, 5, 'extra idle connections beyond maxIdlePerEndpoint were closed');
  });

  it('times out and aborts callers waiting in the queue, and serves the rest in order', async () => {
    const gate = new Gate();
    const { client, endpoint } = await startAgent(
      { services: { S: { Hold: () => gate.pass().then(() => 'held'), Quick: (n: number) => n } } },
      { maxConnectionsPerEndpoint: 1, waitQueueTimeoutMs: 200 },
    );
    const holding = client.call(endpoint, { service: 'S', method: 'Hold' });
    await eventually(() => assert.equal(gate.entered, 1));
    await assert.rejects(client.call(endpoint, { service: 'S', method: 'Quick', params: [1] }), (err: unknown) => {
      assert.ok(err instanceof WaitQueueTimeoutError);
      assert.equal(err.connectionState, 'connecting');
      return true;
    });
    const controller = new AbortController();
    const aborted = client.call(endpoint, { service: 'S', method: 'Quick', params: [2] }, { signal: controller.signal });
    await eventually(() => assert.equal(client.stats(endpoint).waiting, 1));
    controller.abort();
    await assert.rejects(aborted, (err: unknown) => err instanceof CallAbortedError && !err.requestMayHaveRun);
    assert.equal(client.stats(endpoint).waiting, 0);

    const order: number[] = [];
    const queued = [3, 4, 5].map((n) => client.call(endpoint, { service: 'S', method: 'Quick', params: [n] }, {}).then((v) => order.push(v as number)));
    await eventually(() => assert.equal(client.stats(endpoint).waiting, 3));
    gate.open();
    assert.equal(await holding, 'held');
    await Promise.all(queued);
    assert.deepEqual(order, [3, 4, 5], 'first come, first served');
  });

  it('reports its work as events, in order and with reasons', async () => {
    const { client, endpoint } = await startAgent({ services: { S: { Ping: () => 'pong' } } });
    const seen: string[] = [];
    const names: Array<keyof ClientEvents> = [
      'callStarted',
      'callSucceeded',
      'callFailed',
      'connectionCheckOutStarted',
      'connectionCreated',
      'connectionReady',
      'connectionCheckedOut',
      'connectionCheckedIn',
      'connectionClosed',
      'poolCleared',
    ];
    for (const name of names) {
      client.on(name, (event: unknown) => {
        const e = event as { reused?: boolean; reason?: string };
        seen.push(name + (e.reused === undefined ? '' : e.reused ? '(reused)' : '(new)') + (e.reason === undefined ? '' : `(${e.reason})`));
      });
    }
    await client.call(endpoint, { service: 'S', method: 'Ping' });
    await client.call(endpoint, { service: 'S', method: 'Ping' });
    client.clear(endpoint);
    await client.call(endpoint, { service: 'S', method: 'Ping' });
    await client.close();
    assert.deepEqual(seen, [
      'callStarted',
      'connectionCheckOutStarted',
      'connectionCreated',
      'connectionReady',
      'connectionCheckedOut(new)',
      'connectionCheckedIn',
      'callSucceeded',
      'callStarted',
      'connectionCheckOutStarted',
      'connectionCheckedOut(reused)',
      'connectionCheckedIn',
      'callSucceeded',
      'connectionClosed(cleared)',
      'poolCleared',
      'callStarted',
      'connectionCheckOutStarted',
      'connectionCreated',
      'connectionReady',
      'connectionCheckedOut(new)',
      'connectionCheckedIn',
      'callSucceeded',
      'connectionClosed(poolClosed)',
    ]);
  });

  it('close() waits for calls in flight, then refuses new ones', async () => {
    const gate = new Gate();
    const { client, endpoint, agent } = await startAgent({ services: { S: { Hold: () => gate.pass().then(() => 'done') } } });
    const inFlight = client.call(endpoint, { service: 'S', method: 'Hold' });
    await eventually(() => assert.equal(gate.entered, 1));
    let closed = false;
    const closing = client.close().then(() => (closed = true));
    await assert.rejects(client.call(endpoint, { service: 'S', method: 'Hold' }), ClientClosedError);
    assert.equal(closed, false);
    gate.open();
    assert.equal(await inFlight, 'done');
    await closing;
    await eventually(() => assert.equal(agent.connectionCount, 0));
    assert.deepEqual(client.stats(endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('close({ signal }) stops waiting: the calls still in flight fail', async () => {
    const gate = new Gate();
    const { client, endpoint, agent } = await startAgent({ services: { S: { Hold: () => gate.pass() } } });
    const inFlight = client.call(endpoint, { service: 'S', method: 'Hold' });
    await eventually(() => assert.equal(gate.entered, 1));
    const controller = new AbortController();
    const closing = client.close({ signal: controller.signal });
    controller.abort();
    await closing;
    await assert.rejects(inFlight, (err: unknown) => err instanceof ClientClosedError && err.connectionState === 'unknown');
    gate.open();
    await eventually(() => assert.equal(agent.connectionCount, 0));
  });
});
