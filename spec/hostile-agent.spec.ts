// A hostile agent against the client, over real TLS: answers that are not ours, renegotiation with another
// certificate, a proxy that echoes our credentials. Each hostile peer is written here; the client is the real one.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { inspect } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { HalibutClient, HalibutError, ProtocolError, ProxyError, type Endpoint, type HalibutClientOptions } from '../lib/index.js';
import { encodeBson } from '../lib/protocol/bson.js';
import { PROCEED, readControlLine, readNonEmptyControlLine } from '../lib/protocol/control-lines.js';
import { RESPONSE_TYPE } from '../lib/protocol/message-codec.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { captureDebugLog } from './support/debug-log.js';
import { eventually } from './support/eventually.js';
import { startFakeAgent } from './support/fake-agent.js';
import { identities } from './support/identities.js';
import { renegotiationUnavailable, startRenegotiatingServer } from './support/renegotiating-server.js';

closeEverythingAfterwards();
const ids = await identities();

function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, retry: false, ...options });
  onCleanup(() => c.close());
  return c;
}

const ping = (c: HalibutClient, endpoint: Endpoint): Promise<unknown> => c.call(endpoint, { service: 'S', method: 'Ping', params: [] });

describe('our id or nothing', () => {
  // Each answers the first call correctly (so that the connection is pooled and the id of that call is known), then
  // answers the second with the given Message (its id field replaced or removed).
  const cases: Array<[string, (firstId: string) => Record<string, unknown>, RegExp]> = [
    ['an empty id', () => ({ id: '' }), /without our call's id/],
    ['no id at all', () => ({}), /without our call's id/],
    ['an id that is not a string', () => ({ id: 42 }), /without our call's id/],
    ["another call's id (the previous one, replayed)", (firstId) => ({ id: firstId }), /answered a different call/],
  ];
  for (const [name, idField, message] of cases) {
    it(`a response with ${name} is a protocol error, and its connection is not pooled`, async () => {
      const agent = await startFakeAgent(async (peer) => {
        await peer.identify();
        await peer.readRequest();
        const firstId = peer.requestId;
        await peer.write(response({ id: firstId }));
        assert.equal(await readNonEmptyControlLine(peer.reader), 'NEXT');
        await peer.write(PROCEED);
        await peer.readRequest();
        assert.notEqual(peer.requestId, firstId);
        await peer.write(response(idField(firstId)));
        await peer.ignore();
      });
      const c = client();
      assert.equal(await ping(c, agent.endpoint), 'pong');
      await assert.rejects(ping(c, agent.endpoint), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_PROTOCOL' && message.test(err.message));
      assert.deepEqual(c.stats(agent.endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
      await eventually(() => assert.equal(agent.openConnections(), 0));
    });
  }
});

/** A response message with `pong` as its result and the given fields (the id among them, or not). */
function response(fields: Record<string, unknown>): Buffer {
  return deflateRawSync(encodeBson({ Message: { $type: RESPONSE_TYPE, ...fields, error: null, result: 'pong' } }));
}

describe('secrets stay out, whatever the proxy says', () => {
  const user = 'deploy-bot';
  const password = 'S3cret-proxy-pw!';
  const pair = `${user}:${password}`;
  const basic = Buffer.from(pair).toString('base64');

  /** A proxy that echoes our Proxy-Authorization — raw, decoded, and the password alone — in what it answers. */
  async function echoingProxy(answer: (header: string, decoded: string) => string): Promise<number> {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      let head = '';
      socket.on('data', (chunk: Buffer) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const header = /^Proxy-Authorization: (.*)$/im.exec(head)?.[1]?.trim() ?? '';
        const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8');
        socket.end(answer(header, decoded));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return (server.address() as AddressInfo).port;
  }

  const answers: Array<[string, (header: string, decoded: string) => string]> = [
    [
      '407 with the header in its status text, a Proxy-Authenticate and its body',
      (header, decoded) => {
        const body = `you sent ${header} which is ${decoded}, password ${decoded.split(':')[1] ?? ''}`;
        return (
          `HTTP/1.1 407 Denied ${header} ${decoded} ${decoded.split(':')[1] ?? ''}\r\n` +
          `Proxy-Authenticate: ${header.replace(/^Basic /, '')} realm="${decoded}"\r\nProxy-Authenticate: ${decoded.split(':')[1] ?? ''}\r\n` +
          `X-Echo: ${header}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
        );
      },
    ],
    ['403 echoing it', (header, decoded) => `HTTP/1.1 403 ${decoded} ${header}\r\nContent-Length: 0\r\n\r\n`],
    ['502 echoing it', (header, decoded) => `HTTP/1.1 502 ${header} (${decoded})\r\nContent-Length: 0\r\n\r\n`],
    ['an unusual status echoing it', (header, decoded) => `HTTP/1.1 418 ${decoded.split(':')[1] ?? ''} ${header}\r\nContent-Length: 0\r\n\r\n`],
    ['something that is not HTTP, made of the credential', (header, decoded) => `${decoded} ${header}\r\n\r\n`],
  ];

  for (const [name, answer] of answers) {
    it(`a proxy that answers ${name}: no credential in the error, its fields, its cause, the events or the debug log`, async () => {
      const lines = captureDebugLog();
      const port = await echoingProxy(answer);
      const c = client({ proxy: `http://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}` });
      const events: unknown[] = [];
      c.on('callFailed', (event) => events.push(event));
      c.on('retryScheduled', (event) => events.push(event));
      const error = await c.call({ url: 'https://agent.invalid:10933/', thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'Ping' }).then(
        () => assert.fail('the call must fail'),
        (err: unknown) => err,
      );
      assert.ok(error instanceof ProxyError, String(error));
      const seen = [
        error.message,
        String(error.stack),
        JSON.stringify(error),
        inspect(error, { depth: 10, showHidden: true }),
        inspect(events, { depth: 10, showHidden: true }),
        ...lines,
      ].join('\n');
      for (const secret of [password, pair, basic, encodeURIComponent(password)]) assert.ok(!seen.includes(secret), `${JSON.stringify(secret)} leaked:\n${seen}`);
      assert.ok(lines.length > 0, 'the debug log was captured');
    });
  }
});

describe('pinned for the life of the connection', { skip: renegotiationUnavailable() }, () => {
  it('a renegotiation presenting another certificate ends the connection with a typed error; nothing pooled keeps it', async () => {
    const server = await startRenegotiatingServer('swap', ids.agent, ids.stranger);
    const endpoint = { url: `https://127.0.0.1:${server.port}/`, thumbprint: ids.agent.thumbprint };
    const c = client();
    assert.equal(await ping(c, endpoint), 'pong 1');
    assert.equal(c.stats(endpoint).idle, 1);
    // The pooled connection's NEXT is answered with a HelloRequest and the stranger's certificate.
    await assert.rejects(ping(c, endpoint), (err: unknown) => err instanceof HalibutError && typeof err.code === 'string');
    assert.match(await server.nextEvent(), /^renegotiation failed: .*no renegotiation/, 'refused by the client');
    assert.deepEqual(c.stats(endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('after a renegotiation that never completes, close() returns and the socket is gone well before the heartbeat timeout', async () => {
    const server = await startRenegotiatingServer('stall', ids.agent, ids.stranger);
    const endpoint = { url: `https://127.0.0.1:${server.port}/`, thumbprint: ids.agent.thumbprint };
    const c = client();
    assert.equal(await ping(c, endpoint), 'pong 1');
    await c.close();
    // The default heartbeat timeout is 60 s; the grace after END is 2 s. The bound is generous for a loaded machine.
    const closedAfter = Number(/^closed after ([\d.]+) s$/.exec(await server.nextEvent())?.[1]);
    assert.ok(closedAfter < 15, `the client let go after ${closedAfter} s`);
  });
});

describe('the embedded agent refuses renegotiation', () => {
  it('a client that asks to renegotiate is disconnected', async () => {
    const { endpoint } = await startAgent({ services: { S: { Ping: () => 'pong' } } });
    const socket = tlsConnect({ host: '127.0.0.1', port: Number(new URL(endpoint.url).port), cert: ids.client.cert, key: ids.client.key, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
    socket.on('error', () => undefined);
    onCleanup(() => socket.destroy());
    await once(socket, 'secureConnect');
    const outcome = await new Promise<string>((resolve) => {
      socket.once('close', () => resolve('closed'));
      const asked = socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err === null ? 'renegotiated' : `refused: ${err.message}`));
      if (!asked) resolve('not asked');
    });
    assert.notEqual(outcome, 'renegotiated');
    assert.notEqual(outcome, 'not asked');
  });
});

describe('a drip or a flood ends within the phase', () => {
  it('MX-SERVER dripped a byte at a time fails identification at its whole deadline, not byte by byte', async () => {
    let dripping: NodeJS.Timeout | undefined;
    onCleanup(() => clearInterval(dripping));
    const agent = await startFakeAgent(async (peer) => {
      // MX, a blank line, MX-CLIENT, a blank line: then the answer, dripped.
      for (let i = 0; i < 4; i++) await readControlLine(peer.reader);
      // Each byte comes well within the inactivity limit; the line never ends (and stays under its length bound
      // for long after the phase's deadline).
      dripping = setInterval(() => peer.socket.write('M'), 50);
      await peer.ignore();
    });
    const c = client({ handshakeTimeoutMs: 800 });
    await assert.rejects(ping(c, agent.endpoint), (err: unknown) => {
      assert.ok(err instanceof HalibutError, inspect(err));
      assert.equal(err.code, 'ERR_TIMEOUT');
      assert.equal((err as HalibutError & { phase: string }).phase, 'identification');
      assert.match(err.message, /as a whole/);
      return true;
    });
  });

  for (const [name, flood] of [
    ['blank lines every 20 ms after NEXT', (peer: { socket: { write(s: string): boolean } }) => setInterval(() => peer.socket.write('\r\n'), 20)],
    ['a megabyte of blank lines at once after NEXT', (peer: { socket: { write(s: string): boolean } }) => (peer.socket.write('\r\n'.repeat(512 * 1024)), undefined)],
  ] as const) {
    it(`${name}: the heartbeat fails and the call goes on a new connection`, async () => {
      const timers: NodeJS.Timeout[] = [];
      onCleanup(() => timers.forEach((t) => clearInterval(t)));
      let connections = 0;
      const agent = await startFakeAgent(async (peer) => {
        const first = ++connections === 1;
        await peer.identify();
        await peer.readRequest();
        await peer.write(response({ id: peer.requestId }));
        if (!first) return peer.ignore();
        assert.equal(await readNonEmptyControlLine(peer.reader), 'NEXT');
        const timer = flood(peer);
        if (timer !== undefined) timers.push(timer);
        await peer.ignore();
      });
      const c = client({ heartbeatTimeoutMs: 1_000 });
      assert.equal(await ping(c, agent.endpoint), 'pong');
      assert.equal(await ping(c, agent.endpoint), 'pong');
      assert.equal(connections, 2);
    });
  }
});
