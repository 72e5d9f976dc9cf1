// Proxies: a real tinyproxy (HTTP CONNECT + Basic auth) and microsocks (SOCKS5), plus a scripted in-process proxy
// for misbehaviour. The tunnel must be invisible above the transport: pinned, pooled and retried like a direct
// connection, and the proxy password must appear nowhere.
import assert from 'node:assert/strict';
import { format } from 'node:util';
import { describe, it } from 'node:test';
import createDebug from 'debug';
import {
  DataStream,
  HalibutClient,
  PhaseTimeoutError,
  ProxyAuthenticationError,
  ProxyProtocolError,
  ProxyRefusedError,
  TlsHandshakeError,
  matchesNoProxy,
  type Endpoint,
  type HalibutClientOptions,
} from '../lib/index.js';
import { resolveProxy } from '../lib/transport/proxy/proxy-settings.js';
import type { RequestMessage } from '../lib/protocol/message-codec.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';
import { payload, sha256 } from './support/payload.js';
import { proxyUnavailable, startMicrosocks, startScriptedProxy, startTinyproxy, type ScriptedBehaviour } from './support/proxies.js';

closeEverythingAfterwards();
const ids = await identities();

const services = {
  IEchoService: {
    SayHello: (name: string) => `Hello, ${name}!`,
    Hash: (s: DataStream) => sha256(s.readable()),
  },
};

function newClient(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const client = new HalibutClient({ certificate: ids.client, ...options });
  onCleanup(() => client.close());
  return client;
}

const hello = (client: HalibutClient, endpoint: Endpoint) => client.call(endpoint, { service: 'IEchoService', method: 'SayHello', params: ['proxy'] });

/** Captures every debug line written while `fn` runs. */
async function captureLogs(fn: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const previous = createDebug.log;
  createDebug.log = (...args: unknown[]) => lines.push(format(...args));
  createDebug.enable('halibut:*');
  try {
    await fn();
  } finally {
    createDebug.disable();
    createDebug.log = previous;
  }
  return lines.join('\n');
}

describe('through a real HTTP proxy (tinyproxy)', { skip: proxyUnavailable('tinyproxy') }, () => {
  const password = 'Tiny5ecret';

  it('carries calls and a 50 MiB DataStream, reuses one tunnel, and never reveals the password', async () => {
    const { agent, endpoint, connections } = await startAgent({ services });
    const requests: RequestMessage[] = [];
    agent.on('request', (r) => requests.push(r));
    const agentPort = Number(new URL(endpoint.url).port);
    const proxy = await startTinyproxy({ user: 'alice', password, connectPorts: [agentPort] });
    const client = newClient({ proxy: `http://alice:${password}@127.0.0.1:${proxy.port}` });
    const size = 50 * 1024 * 1024;
    const log = await captureLogs(async () => {
      for (let i = 0; i < 5; i++) assert.equal(await hello(client, endpoint), 'Hello, proxy!');
      const expected = await sha256(payload(size, 5));
      assert.deepEqual(await client.call(endpoint, { service: 'IEchoService', method: 'Hash', params: [DataStream.fromReadable(() => payload(size, 5), size)] }), expected);
    });
    assert.equal(connections(), 1, 'sequential calls reused one tunnelled connection');
    assert.match(log, /tunnel to 127\.0\.0\.1:\d+ through http:\/\/127\.0\.0\.1:\d+ is open/);
    assert.ok(!log.includes(password), 'no log line contains the password');
    assert.equal(requests.length, 6);
    for (const r of requests) {
      assert.equal((r.endpoint as Record<string, unknown>)['Proxy'], null);
      assert.ok(!JSON.stringify(r).includes(password), 'no request on the wire contains the password');
    }
  });

  it('reports a wrong password as an authentication error without echoing it, and does not retry', async () => {
    const { endpoint } = await startAgent({ services });
    const proxy = await startTinyproxy({ user: 'alice', password, connectPorts: [Number(new URL(endpoint.url).port)] });
    const wrong = 'NotThe5ecret';
    await assert.rejects(hello(newClient({ proxy: { url: `http://127.0.0.1:${proxy.port}`, username: 'alice', password: wrong } }), endpoint), (err: unknown) => {
      assert.ok(err instanceof ProxyAuthenticationError);
      assert.equal(err.proxy, `http://127.0.0.1:${proxy.port}`);
      assert.equal(err.attempts, 1);
      assert.ok(!err.message.includes(wrong) && !String(err.stack).includes(wrong));
      return true;
    });
  });

  it('reports a destination the proxy refuses', async () => {
    const { endpoint } = await startAgent({ services });
    const proxy = await startTinyproxy({ user: 'alice', password, connectPorts: [1] });
    await assert.rejects(hello(newClient({ proxy: `http://alice:${password}@127.0.0.1:${proxy.port}` }), endpoint), (err: unknown) => {
      assert.ok(err instanceof ProxyRefusedError);
      assert.equal(err.status, 403);
      assert.match(err.message, /refused to open a tunnel to 127\.0\.0\.1:\d+/);
      return true;
    });
  });
});

describe('through SOCKS5 (microsocks)', { skip: proxyUnavailable('microsocks') }, () => {
  it('connects without authentication', async () => {
    const { endpoint } = await startAgent({ services });
    const socks = await startMicrosocks();
    assert.equal(await hello(newClient({ proxy: `socks5://127.0.0.1:${socks.port}` }), endpoint), 'Hello, proxy!');
  });

  it('connects with a user name and password, and rejects a wrong one', async () => {
    const { endpoint } = await startAgent({ services });
    const socks = await startMicrosocks({ user: 'bob', password: 'so cks!' });
    assert.equal(await hello(newClient({ proxy: `socks5://bob:so%20cks!@127.0.0.1:${socks.port}` }), endpoint), 'Hello, proxy!');
    await assert.rejects(
      hello(newClient({ proxy: { url: `socks5://127.0.0.1:${socks.port}`, username: 'bob', password: 'wrong' } }), endpoint),
      (err: unknown) => err instanceof ProxyAuthenticationError && err.attempts === 1 && !err.message.includes('wrong'),
    );
  });

  it('reports a destination the SOCKS proxy cannot reach', async () => {
    const socks = await startMicrosocks();
    await assert.rejects(
      hello(newClient({ proxy: `socks5://127.0.0.1:${socks.port}`, retry: false }), { url: 'https://127.0.0.1:1/', thumbprint: ids.agent.thumbprint }),
      (err: unknown) => err instanceof ProxyRefusedError && /could not connect to 127\.0\.0\.1:1/.test(err.message),
    );
  });
});

describe('proxies that misbehave', () => {
  async function through(behaviour: ScriptedBehaviour, options: Partial<HalibutClientOptions> = {}, statusLine?: string) {
    const { endpoint } = await startAgent({ services });
    const proxy = await startScriptedProxy(behaviour, statusLine);
    const client = newClient({ proxy: `http://127.0.0.1:${proxy.port}`, retry: false, ...options });
    return { call: () => hello(client, endpoint), proxy, endpoint };
  }

  it('accepts "HTTP/1.1 200" without a reason phrase', async () => {
    const { call } = await through('forward-no-reason');
    assert.equal(await call(), 'Hello, proxy!');
  });

  it('sends a well-formed CONNECT with Basic credentials percent-decoded as UTF-8', async () => {
    const { endpoint } = await startAgent({ services });
    const proxy = await startScriptedProxy('forward');
    const client = newClient({ proxy: `http://us%C3%A9r:p%40ss%3Aword@127.0.0.1:${proxy.port}` });
    assert.equal(await hello(client, endpoint), 'Hello, proxy!');
    const authority = new URL(endpoint.url).host;
    const [line, ...headers] = proxy.requests[0]!.split('\r\n');
    assert.equal(line, `CONNECT ${authority} HTTP/1.1`);
    assert.ok(headers.includes(`Host: ${authority}`));
    assert.ok(headers.includes(`Proxy-Authorization: Basic ${Buffer.from('usér:p@ss:word', 'utf8').toString('base64')}`));
  });

  it('brackets an IPv6 target', async () => {
    const { agent } = await startAgent({ services });
    await agent.close();
    const v6 = await startAgent({ services });
    await v6.agent.close();
    const address = await v6.agent.listen({ host: '::1', port: 0 });
    const proxy = await startScriptedProxy('forward');
    const client = newClient({ proxy: `http://127.0.0.1:${proxy.port}` });
    assert.equal(await hello(client, { url: address.url, thumbprint: address.thumbprint }), 'Hello, proxy!');
    assert.match(proxy.requests[0]!, new RegExp(`^CONNECT \\[::1\\]:${address.port} HTTP/1\\.1\\r\\nHost: \\[::1\\]:${address.port}`));
  });

  it('reports 407 with the schemes the proxy offers', async () => {
    const { call } = await through('status', {}, 'HTTP/1.1 407 Proxy Authentication Required');
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(err instanceof ProxyAuthenticationError);
      assert.equal(err.status, 407);
      assert.deepEqual(err.schemes, ['Basic', 'Negotiate']);
      assert.match(err.message, /requires authentication \(407 Proxy Authentication Required\); it offers Basic, Negotiate/);
      return true;
    });
  });

  it('reports 502 as the proxy failing to reach the agent, and retries it', async () => {
    const { call } = await through('status', { retry: { attempts: 2, delayMs: 0 } }, 'HTTP/1.1 502 Bad Gateway');
    await assert.rejects(call(), (err: unknown) => err instanceof ProxyRefusedError && err.status === 502 && err.attempts === 2 && /could not reach the agent/.test(err.message));
  });

  it('times out a proxy that never answers CONNECT', async () => {
    const { call } = await through('hang', { connectTimeoutMs: 200 });
    await assert.rejects(call(), (err: unknown) => err instanceof PhaseTimeoutError && err.phase === 'proxy' && err.timeoutMs === 200);
  });

  it('names a proxy that answers with garbage', async () => {
    const { call } = await through('garbage');
    await assert.rejects(call(), (err: unknown) => err instanceof ProxyProtocolError && /not HTTP/.test(err.message));
  });

  it('names a proxy that closes without answering', async () => {
    const { call } = await through('close');
    await assert.rejects(call(), (err: unknown) => err instanceof ProxyProtocolError && /closed the connection/.test(err.message));
  });

  it('names a proxy that says 200 and then drops the tunnel', async () => {
    const { call } = await through('ok-then-close');
    await assert.rejects(call(), (err: unknown) => err instanceof TlsHandshakeError && /through proxy http:\/\/127\.0\.0\.1:\d+: the proxy may have dropped the tunnel/.test(err.message));
  });
});

describe('proxy settings from the environment', () => {
  it('matches NO_PROXY entries as curl does', () => {
    const table: Array<[string, string, number, boolean]> = [
      ['*', 'anything', 10933, true],
      ['example.com', 'example.com', 10933, true],
      ['example.com', 'tentacle.example.com', 10933, true],
      ['.example.com', 'tentacle.example.com', 10933, true],
      ['*.example.com', 'tentacle.example.com', 10933, true],
      ['example.com', 'notexample.com', 10933, false],
      ['EXAMPLE.com', 'Tentacle.Example.COM', 10933, true],
      ['example.com:10933', 'example.com', 10933, true],
      ['example.com:443', 'example.com', 10933, false],
      ['10.0.0.0/8', '10.1.2.3', 10933, true],
      ['10.0.0.0/8', '11.1.2.3', 10933, false],
      ['192.168.1.0/24', '192.168.1.77', 10933, true],
      ['192.168.1.0/24', 'host.example.com', 10933, false],
      ['10.1.2.3', '10.1.2.3', 10933, true],
      ['::1', '::1', 10933, true],
      ['[::1]:10933', '[::1]', 10933, true],
      ['[::1]:443', '::1', 10933, false],
      ['fd00::/8', 'fd12:3456::1', 10933, true],
      ['fd00::/8', 'fe80::1', 10933, false],
      ['a.com, b.com  c.com', 'c.com', 10933, true],
      ['', 'example.com', 10933, false],
    ];
    for (const [noProxy, host, port, expected] of table) {
      assert.equal(matchesNoProxy(noProxy, host, port), expected, `${JSON.stringify(noProxy)} vs ${host}:${port}`);
    }
  });

  it('prefers lower-case variables, falls back to ALL_PROXY, and honours NO_PROXY', () => {
    const env = { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', NO_PROXY: '.internal' };
    assert.equal(resolveProxy('env', 'tentacle', 10933, env)?.display, 'http://lower:3128');
    assert.equal(resolveProxy('env', 'tentacle', 10933, { ALL_PROXY: 'socks5://s:1080' })?.kind, 'socks5');
    assert.equal(resolveProxy('env', 'db.internal', 10933, env), undefined);
    assert.equal(resolveProxy('env', 'tentacle', 10933, {}), undefined);
    assert.equal(resolveProxy(false, 'tentacle', 10933, env), undefined);
    const withPassword = resolveProxy('http://u:hunter2@p:3128', 'tentacle', 10933);
    assert.ok(withPassword !== undefined && !JSON.stringify(withPassword).includes('hunter2') && !withPassword.key.includes('hunter2'));
  });

  it("follows the environment when told to with proxy: 'env', and an endpoint can opt out", async () => {
    const { endpoint, connections } = await startAgent({ services });
    const proxy = await startScriptedProxy('forward');
    const saved = { ...process.env };
    onCleanup(() => {
      process.env = saved;
    });
    process.env['https_proxy'] = `http://127.0.0.1:${proxy.port}`;
    process.env['no_proxy'] = '';
    const client = newClient({ proxy: 'env' });
    assert.equal(await hello(client, endpoint), 'Hello, proxy!');
    assert.equal(proxy.requests.length, 1);
    assert.equal(await hello(client, { ...endpoint, proxy: false }), 'Hello, proxy!');
    assert.equal(proxy.requests.length, 1, 'the endpoint that opted out went direct');
    assert.equal(connections(), 2);
  });
});
