// TentacleClient.healthCheck against the embedded Tentacle agent over real TLS: a probe whose one request asks for
// the agent's capabilities, on one connection, reported whatever happens.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConnectError, ContractError, ServiceInvocationError, TentacleClient } from '../lib/index.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { freePort } from './support/ports.js';
import { tentacleHarness } from './support/tentacle-agent.js';

closeEverythingAfterwards();

const h = await tentacleHarness();

describe('TentacleClient.healthCheck', () => {
  it("reports the probe's findings and the agent's capabilities, asked on the probe's own connection", async () => {
    const tentacle = new TentacleClient(h.client);
    const requests: string[] = [];
    h.main.agent.on('request', (request) => requests.push(`${request.service}.${request.method}`));
    let connections = 0;
    h.main.agent.on('connection', () => connections++);
    const report = await tentacle.healthCheck(h.main.endpoint, { timeoutMs: 30_000 });
    assert.equal(report.ok, true, report.failure?.error.message);
    assert.equal(report.failure, null);
    assert.equal(report.trusted, true);
    assert.equal(report.halibut, true);
    assert.equal(report.certificate?.thumbprint, h.ids.agent.thumbprint);
    assert.ok(report.latency.requestMs !== null);
    assert.deepEqual(report.capabilities, {
      supported: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'],
      fallback: false,
      kubernetes: false,
      scriptService: 'IScriptServiceV2',
    });
    assert.deepEqual(requests, ['ICapabilitiesServiceV2.GetCapabilities']);
    assert.equal(connections, 1, 'one connection for the whole check');
    // What the check learned is remembered: asking for the capabilities now costs nothing on the wire.
    assert.deepEqual(await tentacle.capabilities(h.main.endpoint), report.capabilities);
    assert.equal(requests.length, 1);
    assert.deepEqual(h.client.stats(h.main.endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 }, 'nothing pooled');
  });

  it('a Tentacle without a capabilities service is healthy, with the fallback capabilities', async () => {
    const old = await h.tentacleAgent({ capabilities: false });
    const report = await new TentacleClient(h.client).healthCheck(old.endpoint);
    assert.equal(report.ok, true, report.failure?.error.message);
    assert.equal(report.capabilities?.fallback, true);
    assert.equal(report.capabilities?.scriptService, 'IScriptService');
  });

  it('fails at capabilities when the agent answers with an error or with something that is not a list', async () => {
    const broken = await h.tentacleAgent({
      services: {
        ICapabilitiesServiceV2: {
          GetCapabilities(): never {
            throw new Error('the capabilities store is corrupt');
          },
        },
      },
    });
    const tentacle = new TentacleClient(h.client);
    const failing = await tentacle.healthCheck(broken.endpoint);
    assert.equal(failing.ok, false);
    assert.equal(failing.trusted, true, 'the probe itself passed');
    assert.equal(failing.capabilities, null);
    assert.equal(failing.failure?.step, 'capabilities');
    assert.ok(failing.failure.error instanceof ServiceInvocationError);
    assert.match(failing.failure.explanation, /^the agent could not list its capabilities: "the capabilities store is corrupt"$/);

    const odd = await h.tentacleAgent({ services: { ICapabilitiesServiceV2: { GetCapabilities: () => 'all of them' } } });
    const garbled = await tentacle.healthCheck(odd.endpoint);
    assert.equal(garbled.failure?.step, 'capabilities');
    assert.ok(garbled.failure.error instanceof ContractError);
  });

  it('an unreachable agent: the probe failure, and no capabilities', async () => {
    const report = await new TentacleClient(h.client).healthCheck({ url: `https://127.0.0.1:${await freePort()}/`, thumbprint: h.ids.agent.thumbprint });
    assert.equal(report.ok, false);
    assert.equal(report.failure?.step, 'connect');
    assert.ok(report.failure.error instanceof ConnectError);
    assert.equal(report.capabilities, null);
  });
});
