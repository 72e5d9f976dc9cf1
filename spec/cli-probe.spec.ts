// `halibut probe` against the embedded agent over real TLS, and against each failure people meet in practice.
import { strict as assert } from 'node:assert';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { before, describe, it } from 'node:test';
import { startTentacleAgent } from '../lib/testing/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { halibut, tempDir, writeIdentity } from './support/cli.js';
import { identities, type TestIdentities } from './support/identities.js';
import { freePort } from './support/ports.js';
import { startScriptedProxy } from './support/proxies.js';
import { listenOnLoopback } from './support/servers.js';

closeEverythingAfterwards();

interface Report {
  ok: boolean;
  reachable: boolean;
  failedStep: string | null;
  proxy: string | null;
  tls: { version: string } | null;
  certificate: { thumbprint: string; subject: string } | null;
  page: { statusLine: string; looksLikeHalibut: boolean; text: string } | null;
  pin: { expected: string; matches: boolean } | null;
  trust: { clientThumbprint: string; accepted: boolean } | null;
  halibut: boolean | null;
  capabilities: { supported: string[]; fallback: boolean; scriptService: string; kubernetes: boolean } | null;
  latency: { connectMs: number; tlsMs: number; identifyMs: number; requestMs: number; totalMs: number } | null;
  error: { code: string; message: string; hint?: string } | null;
}

describe('halibut probe', () => {
  let ids: TestIdentities;
  let client: { cert: string; key: string };
  let stranger: { cert: string; key: string };
  before(async () => {
    ids = await identities();
    const dir = tempDir();
    client = writeIdentity(dir, 'client', ids.client);
    stranger = writeIdentity(dir, 'stranger', ids.stranger);
  });

  // With our certificate and a pin the whole probe is the library's health check, on one connection: identification
  // itself shows that the agent speaks Halibut, so no second connection asks for Halibut's page.
  it('reports every step on one connection and exits 0 when the agent trusts us', async () => {
    const { endpoint, connections } = await startAgent();
    const r = await halibut(['probe', endpoint.url, '--thumbprint', ids.agent.thumbprint, '--cert', client.cert, '--key', client.key]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ok\s+tcp\s+connected directly/);
    assert.match(r.stdout, /ok\s+tls\s+TLSv1\.[23]/);
    assert.match(r.stdout, /ok\s+certificate\s+CN=test agent/);
    assert.ok(r.stdout.includes(`thumbprint   ${ids.agent.thumbprint}`));
    assert.match(r.stdout, new RegExp(`ok\\s+pin\\s+matches ${ids.agent.thumbprint}`));
    assert.match(r.stdout, /ok\s+halibut\s+the agent identified as a Halibut service/);
    assert.match(r.stdout, new RegExp(`ok\\s+trust\\s+the agent accepts our certificate ${ids.client.thumbprint}`));
    assert.match(r.stdout, /note\s+capabilities\s+no capabilities service \(a Tentacle before 6\.3, or not a Tentacle\): IScriptService, IFileTransferService assumed/);
    assert.doesNotMatch(r.stdout, /page/);
    assert.match(r.stdout, /Result: OK\n$/);
    assert.equal(connections(), 1);
  });

  it("shows a Tentacle's capabilities", async () => {
    const tentacle = await startTentacleAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint] });
    onCleanup(() => tentacle.close());
    const r = await halibut(['probe', tentacle.url, '-t', tentacle.thumbprint, '--cert', client.cert, '--key', client.key]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok\s+capabilities IScriptService, IFileTransferService, IScriptServiceV2\n/);
  });

  it('prints a report with --json, and reads the certificate and pin from the environment', async () => {
    const { endpoint } = await startAgent();
    const r = await halibut(['probe', endpoint.url, '--json'], { HALIBUT_CERT: client.cert, HALIBUT_KEY: client.key, HALIBUT_THUMBPRINT: ids.agent.thumbprint.toLowerCase() });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.ok, true);
    assert.equal(report.reachable, true);
    assert.equal(report.failedStep, null);
    assert.equal(report.proxy, null);
    assert.equal(report.certificate?.thumbprint, ids.agent.thumbprint);
    assert.equal(report.page, null, 'no discovery was needed');
    assert.equal(report.halibut, true);
    assert.deepEqual(report.capabilities, { supported: ['IScriptService', 'IFileTransferService'], fallback: true, scriptService: 'IScriptService', kubernetes: false });
    for (const ms of Object.values(report.latency ?? {})) assert.ok(typeof ms === 'number' && ms >= 0);
    assert.deepEqual(report.pin, { expected: ids.agent.thumbprint, matches: true });
    assert.deepEqual(report.trust, { clientThumbprint: ids.client.thumbprint, clientSubject: 'CN=test client', accepted: true });
    assert.equal(report.error, null);
  });

  it('without our certificate, stops after the page and says how to check trust', async () => {
    const { endpoint } = await startAgent();
    const r = await halibut(['probe', endpoint.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /note\s+pin\s+no --thumbprint given/);
    assert.match(r.stdout, /skip\s+trust\s+give our certificate/);
  });

  it('closed port: fails at tcp and points at the firewall or the service', async () => {
    const port = await freePort();
    const r = await halibut(['probe', `https://127.0.0.1:${port}/`, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.failedStep, 'connect');
    assert.equal(report.reachable, false);
    assert.equal(report.error?.code, 'ERR_CONNECT');
    assert.match(report.error?.hint ?? '', /Nothing is listening there, or a firewall/);
    const human = await halibut(['probe', `https://127.0.0.1:${port}/`]);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /FAIL\s+tcp\s+Could not connect to 127\.0\.0\.1:\d+: the connection was refused/);
    assert.match(human.stdout, /fix: Nothing is listening there/);
    assert.match(human.stdout, /Result: FAILED at connect/);
  });

  it('plain HTTP server: fails at tls and suggests the wrong port', async () => {
    const port = await listenOnLoopback(createHttpServer((_req, res) => res.end('hello')));
    const r = await halibut(['probe', `https://127.0.0.1:${port}/`, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.failedStep, 'tls');
    assert.equal(report.reachable, true);
    assert.equal(report.error?.code, 'ERR_NOT_TLS');
    assert.match(report.error?.hint ?? '', /Wrong port, or a plain HTTP server/);
  });

  it('an HTTPS server in front (TLS-terminating load balancer): fails at page', async () => {
    const port = await listenOnLoopback(createHttpsServer({ cert: ids.stranger.cert, key: ids.stranger.key }, (_req, res) => res.end('hello')));
    const r = await halibut(['probe', `https://127.0.0.1:${port}/`]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ok\s+certificate\s+CN=stranger/);
    assert.match(r.stdout, /FAIL\s+page\s+The agent answered 'HTTP\/1\.1 400 Bad Request', not Halibut's page/);
    assert.match(r.stdout, /fix: A TLS-terminating load balancer/);
  });

  it('untrusted client certificate: says the agent does not trust us and prints our thumbprint and the Tentacle command', async () => {
    const { endpoint } = await startAgent();
    const r = await halibut(['probe', endpoint.url, '--cert', stranger.cert, '--key', stranger.key]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL\s+trust\s+/);
    assert.ok(r.stdout.includes(`our thumbprint: ${ids.stranger.thumbprint}`), r.stdout);
    assert.ok(r.stdout.includes(`Tentacle configure --trust ${ids.stranger.thumbprint}`), r.stdout);
    const json = await halibut(['probe', endpoint.url, '--cert', stranger.cert, '--key', stranger.key, '--json']);
    const report = JSON.parse(json.stdout) as Report;
    assert.equal(report.failedStep, 'trust');
    assert.equal(report.error?.code, 'ERR_AGENT_REJECTED_CLIENT');
    assert.deepEqual(report.trust, { clientThumbprint: ids.stranger.thumbprint, clientSubject: 'CN=stranger', accepted: false });
  });

  it('wrong pin: names both thumbprints and does not try to identify', async () => {
    const { endpoint, agent } = await startAgent();
    const seen: string[] = [];
    for (const event of ['friendlyPage', 'rejected', 'request'] as const) agent.on(event, () => seen.push(event));
    const r = await halibut(['probe', endpoint.url, '-t', ids.stranger.thumbprint, '--cert', client.cert, '--key', client.key, '--json']);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.failedStep, 'pin');
    assert.deepEqual(report.pin, { expected: ids.stranger.thumbprint, matches: false });
    assert.equal(report.trust, null);
    assert.ok(report.error?.message.includes(ids.agent.thumbprint));
    assert.equal(report.error?.code, 'ERR_CERTIFICATE_MISMATCH');
    assert.match(report.error?.hint ?? '', /Wrong pin/);
    assert.deepEqual(seen, [], 'nothing was written to the agent once its certificate did not match');
  });

  it('an HTTPS server with a pin and our certificate: fails at halibut, quoting its answer', async () => {
    const port = await listenOnLoopback(createHttpsServer({ cert: ids.stranger.cert, key: ids.stranger.key }, (_req, res) => res.end('hello')));
    const r = await halibut(['probe', `https://127.0.0.1:${port}/`, '-t', ids.stranger.thumbprint, '--cert', client.cert, '--key', client.key]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ok\s+pin\s+matches/);
    assert.match(r.stdout, /FAIL\s+halibut\s+The peer at https:\/\/127\.0\.0\.1:\d+\/ is not a Halibut service: it answered "HTTP\/1\.1 400 Bad Request"/);
    assert.match(r.stdout, /fix: TLS works but the peer is not Halibut/);
    assert.match(r.stdout, /Result: FAILED at halibut\n$/);
  });

  it('proxy refusal (403 to CONNECT): fails at tcp and explains the refusal', async () => {
    const { endpoint } = await startAgent();
    const proxy = await startScriptedProxy('status', 'HTTP/1.1 403 Forbidden');
    const r = await halibut(['probe', endpoint.url, '--json'], { HALIBUT_PROXY: `http://127.0.0.1:${proxy.port}` });
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.failedStep, 'connect');
    assert.equal(report.error?.code, 'ERR_PROXY_REFUSED');
    assert.match(report.error?.hint ?? '', /The proxy refuses this destination/);
    assert.match(proxy.requests[0] ?? '', /^CONNECT 127\.0\.0\.1:\d+ HTTP\/1\.1/);
  });

  it('goes through a working proxy, for discovery and for the trust check', async () => {
    const { endpoint } = await startAgent();
    const proxy = await startScriptedProxy('forward');
    const r = await halibut(['probe', endpoint.url, '--proxy', `http://127.0.0.1:${proxy.port}`, '--cert', client.cert, '--key', client.key, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.proxy, `http://127.0.0.1:${proxy.port}`);
    assert.equal(report.trust?.accepted, true);
    assert.equal(proxy.requests.length, 2);
  });

  it('usage errors exit 2 without touching the network', async () => {
    const missing = await halibut(['probe']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /error: Missing <url>\nfix: See: halibut probe --help/);
    const badPin = await halibut(['probe', 'https://127.0.0.1:1/', '-t', 'nope']);
    assert.equal(badPin.code, 2);
    assert.match(badPin.stderr, /Not a certificate thumbprint/);
    const badUrl = await halibut(['probe', 'http://127.0.0.1:1/', '--json']);
    assert.equal(badUrl.code, 2);
    assert.equal((JSON.parse(badUrl.stdout) as { error: { code: string } }).error.code, 'ERR_CLI_USAGE');
  });
});
