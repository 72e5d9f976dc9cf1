// Integration-testing deployment code against the embedded agent's Tentacle services: real scripts in real bash,
// real files, over real mutually authenticated TLS, with no Tentacle installed.
// Run it with: node --import tsx --test examples/test-deployment-code.ts
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HalibutClient, TentacleClient, generateCertificate, type Endpoint } from 'halibut-client';
import { startTentacleAgent, type StartedTentacleAgent } from 'halibut-client/testing';

// The code under test: ship a config file, then run the install script that reads it, failing on a non-zero exit.
async function deploy(tentacle: TentacleClient, endpoint: Endpoint, version: string): Promise<string[]> {
  const uploaded = await tentacle.uploadFile(endpoint, `apps/myapp/${version}/app.conf`, Buffer.from(`version=${version}\n`));
  const run = tentacle.runScript(endpoint, {
    body: 'set -e\nsource "$1"\necho "installing $version"\nmkdir -p "$(dirname "$1")/current" && cp "$1" "$(dirname "$1")/current/"',
    // The agent reports where it saved the file; the script gets that path, as it would on a real Tentacle.
    arguments: [uploaded.fullPath],
  });
  const output: string[] = [];
  for await (const line of run) if (line.source === 'stdout') output.push(line.text);
  const result = await run;
  if (result.exitCode !== 0) throw new Error(`install failed with exit code ${result.exitCode}`);
  return output;
}

describe('deploy', () => {
  let agent: StartedTentacleAgent;
  let halibut: HalibutClient;
  let tentacle: TentacleClient;

  before(async () => {
    const [agentId, clientId] = await Promise.all([generateCertificate(), generateCertificate()]);
    agent = await startTentacleAgent({ certificate: agentId, trustedThumbprints: [clientId.thumbprint] });
    halibut = new HalibutClient({ certificate: clientId });
    tentacle = new TentacleClient(halibut);
  });

  after(async () => {
    await halibut.close();
    await agent.close();
  });

  it('installs the version it was given', async () => {
    // Relative upload paths land in the agent's home ($TentacleHome, a temporary directory), as on a real Tentacle,
    // so the test can look at the result there.
    const output = await deploy(tentacle, agent.endpoint, '1.2.3');
    assert.ok(output.includes('installing 1.2.3'));
    assert.equal(readFileSync(join(agent.tentacle.home, 'apps/myapp/1.2.3/current/app.conf'), 'utf8'), 'version=1.2.3\n');
  });
});

describe('deploy, on a machine without the tools it needs', () => {
  it('fails with the exit code', async () => {
    const [agentId, clientId] = await Promise.all([generateCertificate(), generateCertificate()]);
    // Scripts on this agent find no programs on their PATH, so mkdir and cp are "command not found" (127).
    const agent = await startTentacleAgent({ certificate: agentId, trustedThumbprints: [clientId.thumbprint], env: { PATH: '/nonexistent' } });
    const halibut = new HalibutClient({ certificate: clientId });
    try {
      await assert.rejects(deploy(new TentacleClient(halibut), agent.endpoint, '2.0.0'), /install failed with exit code 127/);
    } finally {
      await halibut.close();
      await agent.close();
    }
  });
});
