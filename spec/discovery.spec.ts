// discoverAgent: the agent's certificate and page without trusting it or being trusted, and the transport's typed
// errors for each way of failing.
import { strict as assert } from 'node:assert';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import { describe, it } from 'node:test';
import { discoverAgent } from '../lib/discovery/index.js';
import { ConnectError, NotTlsError, ProxyRefusedError } from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { identities } from './support/identities.js';
import { freePort } from './support/ports.js';
import { startScriptedProxy } from './support/proxies.js';
import { listenOnLoopback } from './support/servers.js';

closeEverythingAfterwards();

describe('discoverAgent', () => {
  it("learns the agent's certificate, TLS version and page without a client certificate", async () => {
    const ids = await identities();
    const { endpoint, agent } = await startAgent();
    const rejected: string[] = [];
    agent.on('rejected', (reason) => rejected.push(reason));
    const found = await discoverAgent(endpoint.url);
    assert.equal(found.url, endpoint.url);
    assert.equal(found.proxy, undefined);
    assert.match(found.tlsVersion, /^TLSv1\.[23]$/);
    assert.equal(found.certificate.thumbprint, ids.agent.thumbprint);
    assert.equal(found.certificate.thumbprintSha256, ids.agent.thumbprintSha256);
    assert.equal(found.certificate.subject, 'CN=test agent');
    assert.equal(found.certificate.issuer, 'CN=test agent');
    assert.deepEqual(found.certificate.notAfter, ids.agent.notAfter);
    assert.deepEqual(found.page, {
      statusLine: 'HTTP/1.0 200 OK',
      headers: [['Content-Type', 'text/html; charset=utf-8'], ['Content-Length', '39']],
      body: '<html><body><p>Hello!</p></body></html>',
      truncated: false,
      looksLikeHalibut: true,
    });
    assert.deepEqual(rejected, [], 'HELLO is answered with the page, like a browser; nothing is rejected');
  });

  it("shows a Tentacle's own page and headers, and can skip the page", async () => {
    const { endpoint } = await startAgent({ friendlyHtml: '\n<html><head><title>Octopus Tentacle</title></head></html>', friendlyHeaders: { 'X-Frame-Options': 'DENY' } });
    const found = await discoverAgent(endpoint.url);
    assert.ok(found.page?.body.includes('Octopus Tentacle'));
    assert.deepEqual(found.page?.headers.at(-1), ['X-Frame-Options', 'DENY']);
    const quiet = await discoverAgent(endpoint.url, { readPage: false });
    assert.equal(quiet.page, undefined);
  });

  it('goes through an HTTP CONNECT proxy', async () => {
    const ids = await identities();
    const { endpoint } = await startAgent();
    const proxy = await startScriptedProxy('forward');
    const found = await discoverAgent(endpoint.url, { proxy: `http://127.0.0.1:${proxy.port}` });
    assert.equal(found.proxy, `http://127.0.0.1:${proxy.port}`);
    assert.equal(found.certificate.thumbprint, ids.agent.thumbprint);
    assert.equal(proxy.requests.length, 1);
  });

  it('bounds the page in size', async () => {
    const ids = await identities();
    const server = createTlsServer({ cert: ids.stranger.cert, key: ids.stranger.key }, (tls) => {
      tls.on('error', () => undefined);
      tls.write(`HTTP/1.1 200 OK\r\n\r\n${'x'.repeat(100_000)}`);
    });
    const port = await listenOnLoopback(server);
    const found = await discoverAgent(`https://127.0.0.1:${port}/`, { maxPageBytes: 1000 });
    assert.equal(found.certificate.subject, 'CN=stranger');
    assert.equal(found.page?.truncated, true);
    assert.equal(found.page?.looksLikeHalibut, false);
    assert.ok((found.page?.body.length ?? 0) < 1000);
  });

  it('reports no page when the peer says nothing before the page deadline', async () => {
    const ids = await identities();
    const server = createTlsServer({ cert: ids.stranger.cert, key: ids.stranger.key }, (tls) => tls.on('error', () => undefined));
    const port = await listenOnLoopback(server);
    const found = await discoverAgent(`https://127.0.0.1:${port}/`, { pageTimeoutMs: 50 });
    assert.equal(found.page, undefined);
    assert.equal(found.certificate.subject, 'CN=stranger');
  });

  it('raises the transport errors: refused, not TLS, proxy refusal, bad URL', async () => {
    const closed = await discoverAgent(`https://127.0.0.1:${await freePort()}/`).catch((e: unknown) => e);
    assert.ok(closed instanceof ConnectError);
    assert.equal(closed.syscallCode, 'ECONNREFUSED');

    const port = await listenOnLoopback(createHttpServer((_q, r) => r.end('hi')));
    const plain = await discoverAgent(`https://127.0.0.1:${port}/`).catch((e: unknown) => e);
    assert.ok(plain instanceof NotTlsError, String(plain));

    const { endpoint } = await startAgent();
    const proxy = await startScriptedProxy('status', 'HTTP/1.1 403 Forbidden');
    const refused = await discoverAgent(endpoint.url, { proxy: `http://127.0.0.1:${proxy.port}` }).catch((e: unknown) => e);
    assert.ok(refused instanceof ProxyRefusedError);
    assert.equal(refused.status, 403);

    await assert.rejects(discoverAgent('http://127.0.0.1:1/'), TypeError);
    await assert.rejects(discoverAgent(endpoint.url, { connectTimeoutMs: -1 }), /connectTimeoutMs/);
  });

  it('honours an aborted signal', async () => {
    const { endpoint } = await startAgent();
    await assert.rejects(discoverAgent(endpoint.url, { signal: AbortSignal.abort(new Error('stop')) }), /stop/);
  });
});
