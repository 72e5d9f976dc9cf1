// client.probe over real TLS: a report for a healthy agent and for each way a probe fails, never an exception for a
// failure the agent causes.
import { strict as assert } from 'node:assert';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { before, describe, it } from 'node:test';
import {
  AgentRejectedClientError,
  CertificateMismatchError,
  ClientClosedError,
  ConnectError,
  HalibutClient,
  InvalidThumbprintError,
  NotHalibutPeerError,
  NotTlsError,
  PhaseTimeoutError,
  ProbeAbortedError,
  type ProbeReport,
} from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities, type TestIdentities } from './support/identities.js';
import { freePort } from './support/ports.js';
import { startScriptedProxy } from './support/proxies.js';
import { listenOnLoopback } from './support/servers.js';

closeEverythingAfterwards();

/** A client that trusts nothing in particular, closed at the end of the file. */
function newClient(ids: TestIdentities): HalibutClient {
  const client = new HalibutClient({ certificate: ids.client });
  onCleanup(() => client.close());
  return client;
}

/** A TLS server presenting the stranger's certificate that completes the handshake and then runs `onSecure`. */
async function tlsPeer(ids: TestIdentities, onSecure: (socket: TLSSocket) => void): Promise<string> {
  const server = createTlsServer({ cert: ids.stranger.cert, key: ids.stranger.key }, (socket) => {
    socket.on('error', () => undefined);
    onSecure(socket);
  });
  return `https://127.0.0.1:${await listenOnLoopback(server)}/`;
}

/** Asserts the report's shape for a failure at `step` and returns the failure. */
function failedAt(report: ProbeReport, step: string): NonNullable<ProbeReport['failure']> {
  assert.equal(report.ok, false);
  assert.ok(report.failure !== null, 'a failed probe says why');
  assert.equal(report.failure.step, step, report.failure.error.message);
  assert.match(report.failure.explanation, /^[^\n]+$/, 'the explanation is one line');
  assert.ok(report.latency.totalMs >= 0);
  return report.failure;
}

describe('client.probe', () => {
  let ids: TestIdentities;
  before(async () => {
    ids = await identities();
  });

  it('reports a healthy agent: TLS, certificate, pin, Halibut, trust and the time of each step', async () => {
    const { endpoint, client, agent } = await startAgent();
    const requests: string[] = [];
    agent.on('request', (request) => requests.push(`${request.service}.${request.method}`));
    const errors: Error[] = [];
    agent.on('connectionError', (err) => errors.push(err));
    const report = await client.probe(endpoint, { timeoutMs: 30_000 });
    assert.equal(report.ok, true, report.failure?.error.message);
    assert.equal(report.failure, null);
    assert.equal(report.url, endpoint.url);
    assert.equal(report.proxy, null);
    assert.equal(report.reachable, true);
    assert.match(report.tls?.version ?? '', /^TLSv1\.[23]$/);
    assert.ok((report.tls?.cipher.length ?? 0) > 0);
    const certificate = report.certificate!;
    assert.equal(certificate.thumbprint, ids.agent.thumbprint);
    assert.equal(certificate.thumbprintSha256, ids.agent.thumbprintSha256);
    assert.equal(certificate.subject, 'CN=test agent');
    assert.deepEqual(certificate.notAfter, ids.agent.notAfter);
    assert.equal(certificate.daysToExpiry, Math.floor((ids.agent.notAfter.getTime() - Date.now()) / 86_400_000));
    assert.equal(report.pinMatched, true);
    assert.equal(report.halibut, true);
    assert.equal(report.trusted, true);
    const { connectMs, tlsMs, identifyMs, requestMs, totalMs } = report.latency;
    for (const ms of [connectMs, tlsMs, identifyMs, requestMs]) assert.ok(ms !== null && ms >= 0 && ms <= totalMs, `each step within the total: ${JSON.stringify(report.latency)}`);
    assert.ok(connectMs! + tlsMs! + identifyMs! + requestMs! <= totalMs);
    assert.deepEqual(requests, ['IHalibutClientProbe.Probe'], 'one request, to a service no agent has');
    assert.deepEqual(errors, [], 'the agent saw a well-behaved client: a request, then END');
  });

  it('opens a connection of its own: the pool is neither used nor changed', async () => {
    const { endpoint, client, connections } = await startAgent();
    await client.call(endpoint, { service: 'IHalibutClientProbe', method: 'Probe' }).catch(() => undefined);
    assert.deepEqual(client.stats(endpoint), { open: 1, idle: 1, inUse: 0, connecting: 0, waiting: 0 });
    const report = await client.probe(endpoint);
    assert.equal(report.ok, true);
    assert.equal(connections(), 2, 'the probe dialled the agent instead of reusing the idle connection');
    assert.deepEqual(client.stats(endpoint), { open: 1, idle: 1, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('nothing listening: fails at connect with ConnectError (ECONNREFUSED)', async () => {
    const client = newClient(ids);
    const report = await client.probe({ url: `https://127.0.0.1:${await freePort()}/`, thumbprint: ids.agent.thumbprint });
    const failure = failedAt(report, 'connect');
    assert.ok(failure.error instanceof ConnectError);
    assert.equal(failure.error.code, 'ERR_CONNECT');
    assert.equal(failure.error.syscallCode, 'ECONNREFUSED');
    assert.match(failure.explanation, /connection refused: nothing listens on that port/);
    assert.equal(report.reachable, false);
    assert.equal(report.tls, null);
    assert.equal(report.certificate, null);
    assert.equal(report.latency.connectMs, null);
  });

  it('a peer that never starts TLS: the probe ends at its timeoutMs, in phase handshake', async () => {
    const port = await listenOnLoopback(createTcpServer(() => undefined));
    const client = newClient(ids);
    const report = await client.probe({ url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint }, { timeoutMs: 1000 });
    const failure = failedAt(report, 'tls');
    assert.ok(failure.error instanceof PhaseTimeoutError);
    assert.equal(failure.error.phase, 'handshake');
    assert.equal(failure.error.timeoutMs, 1000, "the probe's own limit, not the client's handshake limit");
    assert.equal(report.reachable, true);
    assert.ok(report.latency.connectMs !== null);
    assert.ok(report.latency.totalMs >= 1000);
  });

  it('an agent that never answers identification: the probe ends at its timeoutMs, in phase identification', async () => {
    const url = await tlsPeer(ids, () => undefined);
    const client = newClient(ids);
    const report = await client.probe({ url, thumbprint: ids.stranger.thumbprint }, { timeoutMs: 1000 });
    const failure = failedAt(report, 'identify');
    assert.ok(failure.error instanceof PhaseTimeoutError);
    assert.equal(failure.error.phase, 'identification');
    assert.match(failure.explanation, /did not identify within 1000 ms/);
    assert.equal(report.pinMatched, true);
    assert.equal(report.halibut, null, 'silence says nothing either way');
    assert.equal(report.trusted, null);
  });

  it('a peer that does not speak TLS: fails at tls with NotTlsError, and is not Halibut', async () => {
    const port = await listenOnLoopback(createHttpServer((_req, res) => res.end('hello')));
    const client = newClient(ids);
    const report = await client.probe({ url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint });
    const failure = failedAt(report, 'tls');
    assert.ok(failure.error instanceof NotTlsError);
    assert.equal(failure.error.code, 'ERR_NOT_TLS');
    assert.match(failure.explanation, /does not speak TLS/);
    assert.equal(report.reachable, true);
    assert.equal(report.halibut, false);
    assert.equal(report.tls, null);
  });

  it('an HTTPS server answering with an HTML page: fails at identify with NotHalibutPeerError, quoting its answer', async () => {
    const url = await tlsPeer(ids, (socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>Welcome to nginx!</body></html>'));
    });
    const client = newClient(ids);
    const report = await client.probe({ url, thumbprint: ids.stranger.thumbprint });
    const failure = failedAt(report, 'identify');
    assert.ok(failure.error instanceof NotHalibutPeerError);
    assert.equal(failure.error.firstLine, 'HTTP/1.1 200 OK');
    assert.equal(failure.explanation, 'TLS works but the peer is not Halibut: it answered "HTTP/1.1 200 OK"');
    assert.equal(report.certificate?.subject, 'CN=stranger');
    assert.equal(report.pinMatched, true);
    assert.equal(report.halibut, false);
    assert.equal(report.trusted, null);
  });

  it('a wrong thumbprint: fails at pin, names both thumbprints, shows the certificate and writes nothing', async () => {
    const { endpoint, client, agent } = await startAgent();
    const seen: string[] = [];
    agent.on('friendlyPage', () => seen.push('page'));
    agent.on('rejected', () => seen.push('rejected'));
    agent.on('request', () => seen.push('request'));
    const report = await client.probe({ url: endpoint.url, thumbprint: ids.stranger.thumbprint });
    const failure = failedAt(report, 'pin');
    assert.ok(failure.error instanceof CertificateMismatchError);
    assert.deepEqual(failure.error.expected, [ids.stranger.thumbprint]);
    assert.equal(failure.error.actual, ids.agent.thumbprint);
    assert.equal(failure.explanation, `the agent presents ${ids.agent.thumbprint} ("CN=test agent"), not the pinned ${ids.stranger.thumbprint}`);
    assert.equal(report.pinMatched, false);
    assert.equal(report.certificate?.thumbprint, ids.agent.thumbprint, 'the presented certificate is reported although it is not pinned');
    assert.match(report.tls?.version ?? '', /^TLSv1\.[23]$/);
    assert.equal(report.halibut, null);
    assert.equal(report.trusted, null);
    assert.equal(report.latency.tlsMs, null);
    assert.deepEqual(seen, [], 'not a byte was written to an unpinned peer');
  });

  it('an agent that does not trust our certificate: fails at identify with AgentRejectedClientError', async () => {
    const { endpoint, client, agent } = await startAgent({ trustedThumbprints: [ids.stranger.thumbprint] });
    const rejected: Array<string | undefined> = [];
    agent.on('rejected', (_reason, thumbprint) => rejected.push(thumbprint));
    const report = await client.probe(endpoint);
    const failure = failedAt(report, 'identify');
    assert.ok(failure.error instanceof AgentRejectedClientError);
    assert.equal(failure.error.clientThumbprint, ids.client.thumbprint);
    assert.equal(failure.explanation, `the agent does not trust our certificate ${ids.client.thumbprint}`);
    assert.equal(report.trusted, false);
    assert.equal(report.pinMatched, true);
    assert.deepEqual(rejected, [ids.client.thumbprint]);
  });

  it('an abort through the signal: a report saying where it stopped, with ProbeAbortedError', async () => {
    const controller = new AbortController();
    const reason = new Error('operator stopped the sweep');
    // The peer completes TLS; our identification reaching it proves the probe is in its identify step.
    const url = await tlsPeer(ids, (socket) => socket.once('data', () => controller.abort(reason)));
    const client = newClient(ids);
    const report = await client.probe({ url, thumbprint: ids.stranger.thumbprint }, { signal: controller.signal });
    const failure = failedAt(report, 'identify');
    assert.ok(failure.error instanceof ProbeAbortedError);
    assert.equal(failure.error.code, 'ERR_ABORTED');
    assert.equal(failure.error.step, 'identify');
    assert.equal(failure.error.cause, reason);
    assert.equal(failure.explanation, 'the probe was aborted during identify');
    assert.equal(report.pinMatched, true);
  });

  it('a signal that has already fired: nothing is dialled; a timeout reason is reported as a timeout', async () => {
    const { endpoint, client, connections } = await startAgent();
    const aborted = await client.probe(endpoint, { signal: AbortSignal.abort(new Error('no')) });
    assert.ok(failedAt(aborted, 'connect').error instanceof ProbeAbortedError);
    const timedOut = await client.probe(endpoint, { signal: AbortSignal.abort(new DOMException('out of time', 'TimeoutError')) });
    const error = failedAt(timedOut, 'connect').error;
    assert.ok(error instanceof PhaseTimeoutError);
    assert.equal(error.phase, 'connect');
    assert.equal(connections(), 0);
  });

  it('goes through the endpoint\'s proxy and says so', async () => {
    const { endpoint, client } = await startAgent();
    const proxy = await startScriptedProxy('forward');
    const report = await client.probe({ ...endpoint, proxy: `http://127.0.0.1:${proxy.port}` });
    assert.equal(report.ok, true, report.failure?.error.message);
    assert.equal(report.proxy, `http://127.0.0.1:${proxy.port}`);
    assert.equal(proxy.requests.length, 1);
  });

  it('rejects only for misuse: a bad endpoint or timeoutMs, a closed client, or one closed during the probe', async () => {
    const client = new HalibutClient({ certificate: ids.client });
    const endpoint = { url: 'https://127.0.0.1:1/', thumbprint: ids.agent.thumbprint };
    await assert.rejects(client.probe({ url: 'http://127.0.0.1:1/', thumbprint: ids.agent.thumbprint }), TypeError);
    await assert.rejects(client.probe({ url: 'https://127.0.0.1:1/', thumbprint: 'nope' }), InvalidThumbprintError);
    await assert.rejects(client.probe(endpoint, { timeoutMs: 0 }), /timeoutMs must be a positive number/);
    // Closed while the probe waits for identification: the probe is stopped, not waited for.
    const url = await tlsPeer(ids, (socket) => socket.once('data', () => void client.close()));
    await assert.rejects(client.probe({ url, thumbprint: ids.stranger.thumbprint }), ClientClosedError);
    await assert.rejects(client.probe(endpoint), ClientClosedError);
  });
});
