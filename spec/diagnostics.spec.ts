// The diagnostics channels, subscribed to by name as any user would, over real TLS calls to the embedded agent:
// every call's tracing events and context, connections opened (TLS version and cipher), identified and closed,
// retries, pool waits, data stream transfers and script runs; and nothing built while nobody listens.
import assert from 'node:assert/strict';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, it } from 'node:test';
import {
  CallAbortedError,
  ConnectError,
  DataStream,
  HalibutClient,
  ServiceInvocationError,
  TentacleClient,
  WaitQueueTimeoutError,
  diagnosticsChannels,
  type CallRetryMessage,
  type CallTraceContext,
  type ConnectionClosedMessage,
  type ConnectionIdentifiedMessage,
  type ConnectionOpenedMessage,
  type HalibutClientOptions,
  type PoolWaitMessage,
  type ScriptCompletedMessage,
  type ScriptStartedMessage,
  type ScriptStatusMessage,
  type StreamTransferMessage,
} from '../lib/index.js';
import { callTraceContext } from '../lib/diagnostics/channels.js';
import { startTentacleAgent } from '../lib/testing/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { Forwarder } from './support/forwarder.js';
import { identities } from './support/identities.js';
import { freePort } from './support/ports.js';

closeEverythingAfterwards();
const ids = await identities();

/** Each test's subscriptions end with it (an afterEach in every suite), so that a later test sees channels with nobody listening. */
const subscriptions: Array<() => void> = [];
function endSubscriptions(): void {
  for (const end of subscriptions.splice(0)) end();
}

/** Collects what is published on one channel until the end of the test file. */
function record<T>(name: string): T[] {
  const messages: T[] = [];
  const onMessage = (message: unknown): void => {
    messages.push(message as T);
  };
  subscribe(name, onMessage);
  subscriptions.push(() => unsubscribe(name, onMessage));
  return messages;
}

/** Collects the call channel's events, in order, each with the context object it carried. */
function recordCalls(): Array<{ event: string; context: CallTraceContext }> {
  const events: Array<{ event: string; context: CallTraceContext }> = [];
  const handler = (event: string) => (context: CallTraceContext) => {
    events.push({ event, context });
  };
  const handlers = { start: handler('start'), end: handler('end'), asyncStart: handler('asyncStart'), asyncEnd: handler('asyncEnd'), error: handler('error') };
  const channel = tracingChannel<unknown, CallTraceContext>(diagnosticsChannels.call);
  channel.subscribe(handlers);
  subscriptions.push(() => channel.unsubscribe(handlers));
  return events;
}

function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, ...options });
  onCleanup(() => c.close());
  return c;
}

/** A promise and the function that settles it, for methods that must wait until the test lets them go. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

describe('the halibut:call tracing channel', () => {
  afterEach(endSubscriptions);

  it('publishes start, end, asyncStart and asyncEnd with one context per call; connections are opened, identified and closed', async () => {
    const calls = recordCalls();
    const opened = record<ConnectionOpenedMessage>(diagnosticsChannels.connectionOpened);
    const identified = record<ConnectionIdentifiedMessage>(diagnosticsChannels.connectionIdentified);
    const closed = record<ConnectionClosedMessage>(diagnosticsChannels.connectionClosed);
    const { endpoint } = await startAgent({ services: { S: { Echo: (s: string) => s } } });
    const c = client();

    assert.equal(await c.call(endpoint, { service: 'S', method: 'Echo', params: ['hello'] }), 'hello');
    assert.deepEqual(
      calls.map((e) => e.event),
      ['start', 'end', 'asyncStart', 'asyncEnd'],
    );
    const context = calls[0]!.context;
    for (const e of calls) assert.equal(e.context, context, 'the same context object in every event');
    const { port } = new URL(endpoint.url);
    assert.equal(context.endpoint, `https://127.0.0.1:${port}/`);
    assert.equal(context.host, '127.0.0.1');
    assert.equal(context.port, Number(port));
    assert.equal(context.service, 'S');
    assert.equal(context.method, 'Echo');
    assert.match(context.callId, /^S::Echo\[\d+\] \/ [0-9a-f-]{36}$/);
    assert.equal(context.attempts, 1);
    assert.equal(context.requestStarted, true);
    assert.equal(context.result, 'hello');
    assert.ok(!('error' in context));
    assert.ok(context.startedAt <= performance.now());

    assert.equal(opened.length, 1);
    const o = opened[0]!;
    assert.equal(o.endpoint, context.endpoint);
    assert.match(String(o.tlsVersion), /^TLSv1\.[23]$/);
    assert.match(String(o.cipher), /^TLS_/);
    assert.equal(o.proxy, undefined);
    assert.ok(o.dialMs >= 0 && o.tlsMs >= 0);
    assert.equal(o.call, context, 'the connection names the call that opened it');
    assert.equal(identified.length, 1);
    assert.equal(identified[0]!.connectionId, o.connectionId);
    assert.equal(identified[0]!.call, context);
    assert.ok(identified[0]!.setupMs >= identified[0]!.identifyMs && identified[0]!.identifyMs >= 0);

    // A second call reuses the pooled connection: a new context, no new connection.
    await c.call(endpoint, { service: 'S', method: 'Echo', params: ['again'] });
    assert.equal(calls.length, 8);
    assert.notEqual(calls[4]!.context, context);
    assert.equal(opened.length, 1);
    assert.deepEqual(closed, []);
    await c.close();
    assert.deepEqual(closed, [{ endpoint: context.endpoint, connectionId: o.connectionId, reason: 'poolClosed', error: undefined }]);
  });

  it('publishes error with the error the caller gets, and how far the call got', async () => {
    const calls = recordCalls();
    const { endpoint } = await startAgent({
      services: {
        S: {
          Throw: () => {
            throw new Error('refused');
          },
        },
      },
    });
    const c = client({ retry: false });
    const thrown = await c.call(endpoint, { service: 'S', method: 'Throw' }).catch((err: unknown) => err);
    assert.ok(thrown instanceof ServiceInvocationError);
    assert.deepEqual(
      calls.map((e) => e.event),
      ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
    );
    const context = calls[0]!.context;
    assert.equal(context.error, thrown);
    assert.equal(context.requestStarted, true);
    assert.equal(context.attempts, 1);

    // A connection that is refused: the request never started.
    const refused = { url: `https://127.0.0.1:${await freePort()}/`, thumbprint: ids.agent.thumbprint };
    const failed = await c.call(refused, { service: 'S', method: 'M' }).catch((err: unknown) => err);
    assert.ok(failed instanceof ConnectError);
    const second = calls[5]!.context;
    assert.equal(second.error, failed);
    assert.equal(second.requestStarted, false);
    assert.equal(second.attempts, 1);
  });

  it('publishes each retry with the call it belongs to, and the attempts in the context', async () => {
    const calls = recordCalls();
    const retries = record<CallRetryMessage>(diagnosticsChannels.callRetry);
    const opened = record<ConnectionOpenedMessage>(diagnosticsChannels.connectionOpened);
    const { endpoint } = await startAgent({ services: { S: { Ping: () => 'pong' } } });
    const forwarder = await Forwarder.start(endpoint);
    // The first two connections are cut as soon as the client speaks (its TLS hello); the third goes through.
    forwarder.onData = (link) => {
      if (forwarder.accepted <= 2) link.reset();
    };
    const c = client({ retry: { attempts: 5, delayMs: 1 } });
    assert.equal(await c.call(forwarder.endpointFor(endpoint), { service: 'S', method: 'Ping' }), 'pong');
    const context = calls[0]!.context;
    assert.equal(context.attempts, 3);
    assert.deepEqual(
      retries.map((r) => [r.attempt, r.retriesLeft]),
      [
        [1, 4],
        [2, 3],
      ],
    );
    for (const r of retries) {
      assert.equal(r.call, context);
      assert.equal(r.callId, context.callId);
      assert.equal(r.endpoint, context.endpoint);
      assert.ok(r.error instanceof Error);
    }
    assert.equal(opened.length, 1, 'only the third connection got through TLS');
    assert.equal(opened[0]!.call, context);
  });

  it('publishes an aborted call with CallAbortedError, and closes its connection as aborted', async () => {
    const calls = recordCalls();
    const closed = record<ConnectionClosedMessage>(diagnosticsChannels.connectionClosed);
    const controller = new AbortController();
    const never = gate();
    onCleanup(() => never.open());
    const { endpoint } = await startAgent({
      services: {
        S: {
          Wait: async () => {
            controller.abort(new Error('stop'));
            await never.wait;
            return 'late';
          },
        },
      },
    });
    const c = client();
    const thrown = await c.call(endpoint, { service: 'S', method: 'Wait' }, { signal: controller.signal }).catch((err: unknown) => err);
    assert.ok(thrown instanceof CallAbortedError);
    const context = calls[0]!.context;
    assert.equal(context.error, thrown);
    assert.equal(context.requestStarted, true);
    assert.deepEqual(
      closed.map((m) => [m.reason, m.error instanceof CallAbortedError]),
      [['aborted', true]],
    );

    // Aborted before it began: nothing was attempted.
    const before = await c.call(endpoint, { service: 'S', method: 'Wait' }, { signal: AbortSignal.abort() }).catch((err: unknown) => err);
    assert.ok(before instanceof CallAbortedError);
    const second = calls.at(-1)!.context;
    assert.equal(second.error, before);
    assert.equal(second.attempts, 0);
    assert.equal(second.requestStarted, false);
  });
});

describe('pool waits', () => {
  afterEach(endSubscriptions);

  it('publishes a wait that was served and one that timed out', async () => {
    const waits = record<PoolWaitMessage>(diagnosticsChannels.poolWait);
    const release = gate();
    onCleanup(() => release.open());
    const entered = gate();
    const { endpoint } = await startAgent({
      services: {
        S: {
          Hold: async () => {
            entered.open();
            await release.wait;
            return 'held';
          },
          Ping: () => 'pong',
        },
      },
    });
    const c = client({ maxConnectionsPerEndpoint: 1, waitQueueTimeoutMs: 100 });
    const holding = c.call(endpoint, { service: 'S', method: 'Hold' });
    await entered.wait;
    // Waits its 100 ms and gives up while the only connection is held.
    await assert.rejects(c.call(endpoint, { service: 'S', method: 'Ping' }), WaitQueueTimeoutError);
    assert.equal(waits.length, 1);
    assert.equal(waits[0]!.outcome, 'timeout');
    assert.ok(waits[0]!.error instanceof WaitQueueTimeoutError);
    assert.equal(waits[0]!.limit, 'maxConnectionsPerEndpoint');
    assert.ok(waits[0]!.durationMs >= 90, `waited ${waits[0]!.durationMs} ms`);

    const waiting = c.call(endpoint, { service: 'S', method: 'Ping' }, { retry: false });
    await eventually(() => assert.equal(c.stats(endpoint).waiting, 1));
    release.open();
    assert.equal(await holding, 'held');
    assert.equal(await waiting, 'pong');
    assert.equal(waits.length, 2);
    assert.deepEqual({ ...waits[1]!, durationMs: 0 }, { endpoint: waits[0]!.endpoint, durationMs: 0, outcome: 'served', limit: 'maxConnectionsPerEndpoint', error: undefined });
  });
});

describe('data stream transfers', () => {
  afterEach(endSubscriptions);

  it('publishes each stream sent and received with its bytes and direction, and one read only in part', async () => {
    const transfers = record<StreamTransferMessage>(diagnosticsChannels.streamTransfer);
    const big = Buffer.alloc(1024 * 1024, 7);
    const { endpoint } = await startAgent({
      services: {
        S: {
          Length: async (d: DataStream) => (await d.toBuffer()).length,
          Give: (n: number) => DataStream.fromBuffer(big.subarray(0, n)),
        },
      },
    });
    const c = client();
    const upload = DataStream.fromBuffer(Buffer.alloc(100_000, 1));
    assert.equal(await c.call(endpoint, { service: 'S', method: 'Length', params: [upload] }), 100_000);
    // The agent's side of the same transfer publishes nothing: only the client's.
    assert.equal(transfers.length, 1);
    assert.deepEqual({ ...transfers[0]!, durationMs: 0 }, { endpoint: transfers[0]!.endpoint, streamId: upload.id.toString(), direction: 'send', bytes: 100_000, length: 100_000, durationMs: 0, error: undefined });

    const download = (await c.call(endpoint, { service: 'S', method: 'Give', params: [300_000] })) as DataStream;
    assert.equal((await download.toBuffer()).length, 300_000);
    assert.equal(transfers.length, 2);
    assert.deepEqual({ ...transfers[1]!, durationMs: 0 }, { endpoint: transfers[0]!.endpoint, streamId: download.id.toString(), direction: 'receive', bytes: 300_000, length: 300_000, durationMs: 0, error: undefined });

    // A stream abandoned after its first piece: published once, with the bytes read and the error.
    const partial = (await c.call(endpoint, { service: 'S', method: 'Give', params: [big.length] })) as DataStream;
    const readable = partial.readable();
    await new Promise<void>((resolve) => readable.once('data', () => resolve()));
    readable.destroy();
    await eventually(() => assert.equal(transfers.length, 3));
    const t = transfers[2]!;
    assert.equal(t.direction, 'receive');
    assert.ok(t.bytes > 0 && t.bytes < big.length, `${t.bytes} bytes`);
    assert.ok(t.error instanceof Error);
  });
});

describe('Tentacle script runs', () => {
  afterEach(endSubscriptions);

  it('publishes the start, every status and the completion of a script, and a run cancelled before it started', async () => {
    const started = record<ScriptStartedMessage>(diagnosticsChannels.scriptStarted);
    const statuses = record<ScriptStatusMessage>(diagnosticsChannels.scriptStatus);
    const completed = record<ScriptCompletedMessage>(diagnosticsChannels.scriptCompleted);
    const agent = await startTentacleAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint] });
    onCleanup(() => agent.close());
    const tentacle = new TentacleClient(client(), { poll: { minDelayMs: 10, maxDelayMs: 50 }, startWaitMs: 0 });
    const result = await tentacle.runScript(agent.endpoint, { body: 'echo one\necho two\nexit 3' }).result;
    assert.equal(result.exitCode, 3);

    assert.equal(started.length, 1);
    assert.deepEqual(started[0], { endpoint: started[0]!.endpoint, ticket: result.ticket, service: 'IScriptServiceV2' });
    assert.ok(statuses.length >= 2, 'the start and at least one poll');
    for (const s of statuses) assert.equal(s.ticket, result.ticket);
    const last = statuses.at(-1)!;
    assert.equal(last.state, 'Complete');
    assert.equal(last.exitCode, 3);
    assert.ok(statuses.slice(0, -1).every((s) => s.state !== 'Complete'));
    assert.ok(statuses.reduce((n, s) => n + s.logRecords, 0) >= 2, 'the two lines came with the statuses');
    assert.equal(completed.length, 1);
    const done = completed[0]!;
    assert.equal(done.ticket, result.ticket);
    assert.equal(done.exitCode, 3);
    assert.equal(done.cancelled, false);
    assert.equal(done.error, undefined);
    assert.ok(done.durationMs > 0);

    const cancelled = await tentacle.runScript(agent.endpoint, { body: 'echo never', signal: AbortSignal.abort() }).result;
    assert.equal(cancelled.cancelled, true);
    assert.equal(completed.length, 2);
    assert.equal(completed[1]!.cancelled, true);
    assert.equal(completed[1]!.ticket, cancelled.ticket);
    assert.equal(completed[1]!.error, undefined);
    assert.equal(started.length, 1, 'the second script never reached the agent');
  });
});

describe('with nobody listening', () => {
  afterEach(endSubscriptions);

  it('builds no trace context; one is built as soon as someone subscribes', () => {
    const endpoint = { url: 'https://agent:10933/', host: 'agent', port: 10933 };
    const channel = tracingChannel(diagnosticsChannels.call);
    assert.equal(channel.hasSubscribers, false);
    assert.equal(callTraceContext(endpoint, 'S', 'M', 'S::M[1] / x'), undefined);
    const handlers = { start: () => undefined, end: () => undefined, asyncStart: () => undefined, asyncEnd: () => undefined, error: () => undefined };
    channel.subscribe(handlers);
    try {
      const traced = callTraceContext(endpoint, 'S', 'M', 'S::M[1] / x');
      assert.equal(traced?.callId, 'S::M[1] / x');
      assert.equal(traced.endpoint, endpoint.url);
    } finally {
      channel.unsubscribe(handlers);
    }
  });
});
