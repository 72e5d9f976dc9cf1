// How the client behaves around the happy path: stale pooled connections, bad upload sources, cancellation, a
// closed client, misuse of response streams. Every case must leave the client able to make the next call.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { CallAbortedError, ClientClosedError, DataStream, DataStreamError, HalibutClient } from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();

describe('client behaviour', () => {
  it('replaces a pooled connection the agent closed while idle, without failing the call', async () => {
    const { agent, client, endpoint, connections } = await startAgent({
      nextTimeoutMs: 50,
      services: { IEchoService: { SayHello: (n: string) => `Hello, ${n}!` } },
    });
    assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello', params: ['1'] }), 'Hello, 1!');
    await eventually(() => assert.equal(agent.connectionCount, 0), 5000);
    assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello', params: ['2'] }), 'Hello, 2!');
    assert.equal(connections(), 2);
  });

  for (const [name, source, declared] of [
    ['fewer', () => Readable.from([Buffer.alloc(10)]), 100],
    ['more', () => Readable.from([Buffer.alloc(200)]), 100],
  ] as const) {
    it(`fails an upload whose source yields ${name} bytes than declared, and the next call works`, async () => {
      let received = 0;
      const { agent, client, endpoint } = await startAgent({
        services: {
          IEchoService: {
            Upload: async (s: DataStream) => (received = (await s.toBuffer()).length),
            SayHello: () => 'still fine',
          },
        },
      });
      await assert.rejects(
        client.call(endpoint, { service: 'IEchoService', method: 'Upload', params: [DataStream.fromReadable(source, declared)] }),
        (err: unknown) => err instanceof DataStreamError && /declared/.test(err.message),
      );
      assert.equal(received, 0, 'the agent never saw a complete upload');
      await eventually(() => assert.equal(agent.connectionCount, 0));
      assert.deepEqual(client.stats(endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
      assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello' }), 'still fine');
    });
  }

  it('aborts before anything is sent, and after the request started (saying the agent may still run it)', async () => {
    let release: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const { agent, client, endpoint } = await startAgent({
      services: {
        IEchoService: {
          Slow: async () => {
            started++;
            await running;
            return 'late';
          },
          SayHello: () => 'hi',
        },
      },
    });
    const pre = new AbortController();
    pre.abort(new Error('changed my mind'));
    await assert.rejects(client.call(endpoint, { service: 'IEchoService', method: 'Slow' }, { signal: pre.signal }), (err: unknown) => {
      assert.ok(err instanceof CallAbortedError);
      assert.equal(err.requestMayHaveRun, false);
      return true;
    });
    assert.equal(started, 0);

    const during = new AbortController();
    agent.once('request', () => setImmediate(() => during.abort()));
    await assert.rejects(client.call(endpoint, { service: 'IEchoService', method: 'Slow' }, { signal: during.signal }), (err: unknown) => {
      assert.ok(err instanceof CallAbortedError);
      assert.equal(err.requestMayHaveRun, true);
      assert.match(err.message, /may still be running/);
      return true;
    });
    assert.deepEqual(client.stats(endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
    release();
    assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello' }), 'hi');
  });

  it('requires response streams to be read in order', async () => {
    const { client, endpoint } = await startAgent({
      services: { IEchoService: { Two: () => [DataStream.fromBuffer('one'), DataStream.fromBuffer('two')], SayHello: () => 'hi' } },
    });
    const [first, second] = (await client.call(endpoint, { service: 'IEchoService', method: 'Two' })) as DataStream[];
    await assert.rejects(second!.toBuffer(), (err: unknown) => err instanceof DataStreamError && /in order/.test(err.message));
    assert.ok(first);
    assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello' }), 'hi');
  });

  it('frees the connection when response streams are discarded', async () => {
    const { client, endpoint, connections } = await startAgent({
      services: { IEchoService: { Big: () => DataStream.fromBuffer(Buffer.alloc(3_000_000, 1)), SayHello: () => 'hi' } },
    });
    const stream = (await client.call(endpoint, { service: 'IEchoService', method: 'Big' })) as DataStream;
    assert.deepEqual(client.stats(endpoint), { open: 1, idle: 0, inUse: 1, connecting: 0, waiting: 0 });
    await stream.discard();
    await eventually(() => assert.deepEqual(client.stats(endpoint), { open: 1, idle: 1, inUse: 0, connecting: 0, waiting: 0 }));
    assert.equal(await client.call(endpoint, { service: 'IEchoService', method: 'SayHello' }), 'hi');
    assert.equal(connections(), 1, 'the same connection was reused');
  });

  it('refuses calls after close, and validates its arguments', async () => {
    const ids = await identities();
    const client = new HalibutClient({ certificate: ids.client });
    await client.close();
    await assert.rejects(client.call({ url: 'https://127.0.0.1:1/', thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'M' }), ClientClosedError);
    assert.throws(() => new HalibutClient({ certificate: ids.client, connectTimeoutMs: -1 }), /connectTimeoutMs/);
    const open = new HalibutClient({ certificate: ids.client });
    await assert.rejects(open.call({ url: 'http://127.0.0.1:1/', thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'M' }), /https:\/\//);
    await assert.rejects(open.call({ url: 'https://127.0.0.1:1/', thumbprint: 'nope' }, { service: 'S', method: 'M' }), /thumbprint/i);
    await open.close();
  });
});
