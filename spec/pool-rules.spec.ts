// The pool's rules on their own, with fake connections and a clock moved by hand: the client-wide limit and what
// it closes to make room, the order waiting calls are served in, the per-endpoint limit beside it, expiry and
// forgetting on one timer, and what closing leaves behind. spec/pool.spec.ts and spec/pool-fleet.spec.ts test the
// same rules end to end over TLS.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { diagnosticsChannels, type PoolWaitMessage } from '../lib/diagnostics/channels.js';
import { PoolClosedError, WaitQueueTimeoutError } from '../lib/pool/errors.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { fakePool } from './support/fake-pool.js';

closeEverythingAfterwards();

/** A fake pool closed when the file ends, so that a forgotten wait fails the file rather than holding it open. */
function pool(options: Parameters<typeof fakePool>[0] = {}): ReturnType<typeof fakePool> {
  const made = fakePool(options);
  onCleanup(() => made.pool.close());
  return made;
}

/** Follows a promise without awaiting it: whether it has settled yet, and how. */
function track<T>(promise: Promise<T>): { readonly done: boolean; readonly promise: Promise<T> } {
  const state = { done: false, promise };
  promise.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
}

describe('the pool’s client-wide limit', () => {
  it('closes the least recently used idle connection of another endpoint before anyone waits', async () => {
    const { pool: p, checkOut, closed, opened } = pool({ maxConnections: 3 });
    const a = await checkOut('a');
    const b = await checkOut('b');
    const c = await checkOut('c');
    // Back in the order b, a, c: b has been idle longest.
    for (const lease of [b, a, c]) p.checkIn(lease.connection);
    assert.deepEqual(p.totals(), { open: 3, idle: 3, inUse: 0, connecting: 0, waiting: 0, endpoints: 3, evicted: 0 });

    const d = await checkOut('d');
    assert.equal(d.fresh, true);
    assert.deepEqual(closed, [{ endpoint: 'b', connectionId: b.connection.id, reason: 'evicted' }]);
    assert.equal(b.connection.closedBy, 'end', 'a healthy connection is ended politely');
    assert.deepEqual(p.totals(), { open: 3, idle: 2, inUse: 1, connecting: 0, waiting: 0, endpoints: 4, evicted: 1 });
    assert.deepEqual(p.stats('b'), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
    assert.equal(opened.length, 4);
  });

  it('reuses an endpoint’s own idle connection rather than evicting another’s', async () => {
    const { pool: p, checkOut, closed } = pool({ maxConnections: 2 });
    const a = await checkOut('a');
    const b = await checkOut('b');
    p.checkIn(a.connection);
    p.checkIn(b.connection);
    const again = await checkOut('b');
    assert.equal(again.connection, b.connection);
    assert.deepEqual(closed, []);
  });

  it('never closes a connection in use: a call waits, and the first connection to come back makes room for it', async () => {
    const { pool: p, checkOut, closed } = pool({ maxConnections: 2 });
    const a = await checkOut('a');
    const b = await checkOut('b');
    const c = track(checkOut('c'));
    assert.deepEqual(p.totals(), { open: 2, idle: 0, inUse: 2, connecting: 0, waiting: 1, endpoints: 3, evicted: 0 });
    assert.deepEqual(p.stats('c'), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 1 });

    p.checkIn(b.connection);
    const served = await c.promise;
    assert.equal(served.fresh, true);
    assert.deepEqual(closed, [{ endpoint: 'b', connectionId: b.connection.id, reason: 'evicted' }]);
    assert.equal(a.connection.closed, false);
    assert.deepEqual(p.totals(), { open: 2, idle: 0, inUse: 2, connecting: 0, waiting: 0, endpoints: 3, evicted: 1 });
  });

  it('serves calls it holds in arrival order across endpoints, even before a later call that could reuse a connection', async () => {
    const { pool: p, checkOut, closed } = pool({ maxConnections: 2 });
    const a = await checkOut('a');
    const b = await checkOut('b');
    const order: string[] = [];
    const waiting = ['c', 'd', 'a'].map((endpoint) => checkOut(endpoint).then((lease) => (order.push(endpoint), lease)));
    assert.equal(p.totals().waiting, 3);

    // a's connection comes back: the call to a could reuse it, but the call to c came first.
    p.checkIn(a.connection);
    const c = await waiting[0]!;
    assert.deepEqual(order, ['c']);
    assert.deepEqual(closed.map((e) => `${e.endpoint} ${e.reason}`), ['a evicted']);

    p.checkIn(b.connection);
    const d = await waiting[1]!;
    p.checkIn(c.connection);
    await waiting[2];
    assert.deepEqual(order, ['c', 'd', 'a']);
    assert.deepEqual(p.totals(), { open: 2, idle: 0, inUse: 2, connecting: 0, waiting: 0, endpoints: 4, evicted: 3 });
    p.checkIn(d.connection);
  });

  it('keeps the per-endpoint limit’s own rule: a call held by it holds up nobody else, and gets its endpoint’s connection back', async () => {
    const { pool: p, checkOut } = pool({ maxConnections: 3, maxConnectionsPerEndpoint: 1 });
    const waits: PoolWaitMessage[] = [];
    const onWait = (message: unknown): void => void waits.push(message as PoolWaitMessage);
    subscribe(diagnosticsChannels.poolWait, onWait);
    try {
      const a1 = await checkOut('a');
      const a2 = track(checkOut('a'));
      assert.deepEqual(p.stats('a'), { open: 1, idle: 0, inUse: 1, connecting: 0, waiting: 1 });

      const b = await checkOut('b');
      assert.equal(b.fresh, true, 'the call to b did not wait behind the one held by a’s limit');
      assert.equal(waits.length, 0, 'nor is it reported as a wait');
      assert.equal(a2.done, false);

      p.checkIn(a1.connection);
      const lease = await a2.promise;
      assert.equal(lease.connection, a1.connection);
      assert.equal(lease.fresh, false);
      assert.deepEqual(
        waits.map((w) => `${w.endpoint} ${w.outcome} ${w.limit}`),
        ['a served maxConnectionsPerEndpoint'],
      );
    } finally {
      unsubscribe(diagnosticsChannels.poolWait, onWait);
    }
  });

  it('hands the room a failed connection attempt held to the next call in line', async () => {
    const { pool: p, checkOut, refusing } = pool({ maxConnections: 1 });
    refusing.add('a');
    const a = checkOut('a');
    const b = track(checkOut('b'));
    assert.deepEqual(p.totals(), { open: 1, idle: 0, inUse: 0, connecting: 1, waiting: 1, endpoints: 2, evicted: 0 });
    await assert.rejects(a, /refused/);
    const lease = await b.promise;
    assert.equal(lease.fresh, true);
    assert.deepEqual(p.stats('a'), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('replaces a stale idle connection at once, even at the limit, without waiting', async () => {
    const { pool: p, checkOut, closed } = pool({ maxConnections: 1 });
    const first = await checkOut('a');
    p.checkIn(first.connection);
    first.connection.stale = true;
    const second = await checkOut('a');
    assert.equal(second.fresh, true);
    assert.notEqual(second.connection, first.connection);
    assert.deepEqual(closed, [{ endpoint: 'a', connectionId: first.connection.id, reason: 'stale' }]);
    assert.equal(first.connection.closedBy, 'destroy');
    assert.deepEqual(p.totals(), { open: 1, idle: 0, inUse: 1, connecting: 0, waiting: 0, endpoints: 1, evicted: 0 });
  });

  it('fails a wait that runs out with the limit that held it', async () => {
    const { checkOut } = pool({ maxConnections: 2, maxConnectionsPerEndpoint: 1, waitQueueTimeoutMs: 5 });
    await checkOut('a');
    await checkOut('b');
    await assert.rejects(checkOut('c'), (err: unknown) => {
      assert.ok(err instanceof WaitQueueTimeoutError);
      assert.equal(err.limit, 'maxConnections');
      assert.match(err.message, /raise maxConnections or waitQueueTimeoutMs/);
      return true;
    });
    await assert.rejects(checkOut('a'), (err: unknown) => err instanceof WaitQueueTimeoutError && err.limit === 'maxConnectionsPerEndpoint');
  });

  it('takes an aborted call out of the queue; the next in line is served', async () => {
    const { pool: p, checkOut } = pool({ maxConnections: 1 });
    const a = await checkOut('a');
    const controller = new AbortController();
    const b = checkOut('b', controller.signal);
    const c = checkOut('c');
    controller.abort(new Error('caller gave up'));
    await assert.rejects(b, /caller gave up/);
    assert.equal(p.totals().waiting, 1);
    p.checkIn(a.connection);
    assert.equal((await c).fresh, true);
  });

  it('gives back a connection granted to a call whose signal fired before it could take it', async () => {
    const { pool: p, checkOut } = pool({ maxConnections: 1 });
    const first = await checkOut('a');
    const controller = new AbortController();
    const second = checkOut('a', controller.signal);
    // Granted to the waiting call at once, and aborted before that call runs again.
    p.checkIn(first.connection);
    controller.abort(new Error('too late'));
    await assert.rejects(second, /too late/);
    assert.deepEqual(p.stats('a'), { open: 1, idle: 1, inUse: 0, connecting: 0, waiting: 0 });
    assert.equal(first.connection.closed, false);
  });
});

describe('the pool’s timer: idle connections expire and unused endpoints are forgotten', () => {
  it('closes idle connections after maxIdleTimeMs, then forgets their endpoints after as long, on one timer for all', async () => {
    const { pool: p, checkOut, clock, closed } = pool({ maxConnections: 1000, maxIdleTimeMs: 1000 });
    for (let i = 0; i < 100; i++) p.checkIn((await checkOut(`e${i}`)).connection);
    assert.equal(clock.pending, 1, 'one timer, not one per connection or endpoint');

    clock.advance(999);
    assert.equal(p.totals().idle, 100);
    clock.advance(1);
    assert.equal(closed.length, 100);
    assert.ok(closed.every((e) => e.reason === 'idle'));
    assert.deepEqual(p.totals(), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0, endpoints: 100, evicted: 0 });
    assert.equal(clock.pending, 1);

    clock.advance(999);
    assert.equal(p.totals().endpoints, 100);
    clock.advance(1);
    assert.equal(p.totals().endpoints, 0);
    assert.equal(clock.pending, 0, 'nothing left to wait for: no timer');
  });

  it('keeps an endpoint that is used again before it would be forgotten', async () => {
    const { pool: p, checkOut, clock } = pool({ maxIdleTimeMs: 1000 });
    const first = await checkOut('a');
    p.discard(first.connection, 'error');
    assert.deepEqual(p.totals(), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0, endpoints: 1, evicted: 0 });
    clock.advance(600);
    const second = await checkOut('a');
    clock.advance(600);
    p.checkIn(second.connection);
    clock.advance(999);
    assert.deepEqual(p.stats('a'), { open: 1, idle: 1, inUse: 0, connecting: 0, waiting: 0 });
    clock.advance(1);
    assert.equal(p.totals().endpoints, 1, 'left with nothing only now');
    clock.advance(1000);
    assert.equal(p.totals().endpoints, 0);
  });

  it('forgets an endpoint whose connection attempt failed', async () => {
    const { pool: p, checkOut, clock, refusing } = pool({ maxIdleTimeMs: 1000 });
    refusing.add('a');
    await assert.rejects(checkOut('a'), /refused/);
    assert.equal(p.totals().endpoints, 1);
    clock.advance(1000);
    assert.equal(p.totals().endpoints, 0);
  });

  it('does not count time a connection spent carrying a call as idle time', async () => {
    const { pool: p, checkOut, clock, closed } = pool({ maxIdleTimeMs: 1000 });
    const lease = await checkOut('a');
    clock.advance(5000);
    p.checkIn(lease.connection);
    assert.deepEqual(closed, []);
    assert.equal((await checkOut('a')).connection, lease.connection);
  });

  it('drops a connection the agent closes while it is idle, at once', async () => {
    const { pool: p, checkOut, closed } = pool();
    const lease = await checkOut('a');
    p.checkIn(lease.connection);
    lease.connection.closeFromAgent();
    assert.deepEqual(closed, [{ endpoint: 'a', connectionId: lease.connection.id, reason: 'stale' }]);
    assert.equal(p.totals().open, 0);
  });
});

describe('closing the pool', () => {
  it('fails waiting calls, ends idle connections, cancels its timer, and forgets each endpoint once its connections are back', async () => {
    const { pool: p, checkOut, clock, closed } = pool({ maxConnections: 2 });
    const a = await checkOut('a');
    const b = await checkOut('b');
    p.checkIn(a.connection);
    const c = checkOut('c', undefined);
    // c evicted a's idle connection: b and c hold the two places, and d waits.
    const d = checkOut('d');
    const cLease = await c;
    assert.equal(clock.pending, 1, 'a is waiting to be forgotten');

    await p.close();
    await assert.rejects(d, PoolClosedError);
    assert.equal(clock.pending, 0);
    assert.deepEqual(p.totals(), { open: 2, idle: 0, inUse: 2, connecting: 0, waiting: 0, endpoints: 2, evicted: 1 });

    p.checkIn(b.connection);
    p.checkIn(cLease.connection);
    await p.drained();
    assert.deepEqual(p.totals(), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0, endpoints: 0, evicted: 1 });
    assert.deepEqual(
      closed.map((e) => `${e.endpoint} ${e.reason}`),
      ['a evicted', 'b poolClosed', 'c poolClosed'],
    );
    assert.equal(clock.pending, 0);
  });
});
