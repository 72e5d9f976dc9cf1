// An integration test of deployment code, run against the embeddable agent instead of a real Tentacle.
// Run it with: node --import tsx --test examples/agent-in-a-test.ts
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataStream, HalibutClient, ServiceInvocationError, generateCertificate, type Endpoint } from 'halibut-client';
import { ListeningAgent } from 'halibut-client/testing';

// The code under test: it sends a package and reports what the agent stored.
async function deployPackage(client: HalibutClient, endpoint: Endpoint, name: string, bytes: Buffer): Promise<string> {
  const result = (await client.call(endpoint, {
    service: 'IFileTransferService',
    method: 'UploadFile',
    params: [`packages/${name}`, DataStream.fromBuffer(bytes)],
  })) as { FullPath: string; Length: number };
  if (result.Length !== bytes.length) throw new Error('The agent stored a different length');
  return result.FullPath;
}

describe('deployPackage', () => {
  const stored = new Map<string, Buffer>();
  let agent: ListeningAgent;
  let client: HalibutClient;
  let endpoint: Endpoint;

  before(async () => {
    const [agentId, clientId] = await Promise.all([generateCertificate(), generateCertificate()]);
    agent = new ListeningAgent({
      certificate: agentId,
      trustedThumbprints: [clientId.thumbprint],
      services: {
        IFileTransferService: {
          async UploadFile(path: string, upload: DataStream) {
            if (path.includes('..')) throw new Error(`Refusing path ${path}`);
            stored.set(path, await upload.toBuffer());
            return {
              $type: 'Octopus.Shared.Contracts.UploadResult, Octopus.Shared',
              FullPath: `/srv/${path}`,
              Hash: '',
              Length: upload.length,
            };
          },
        },
      },
    });
    const address = await agent.listen();
    endpoint = { url: address.url, thumbprint: address.thumbprint };
    client = new HalibutClient({ certificate: clientId });
  });

  after(async () => {
    await client.close();
    await agent.close();
  });

  it('uploads the package where the agent keeps packages', async () => {
    const path = await deployPackage(client, endpoint, 'app.1.0.0.zip', Buffer.from('PK fake zip'));
    assert.equal(path, '/srv/packages/app.1.0.0.zip');
    assert.equal(stored.get('packages/app.1.0.0.zip')?.toString(), 'PK fake zip');
  });

  it('surfaces the agent refusing a path', async () => {
    await assert.rejects(deployPackage(client, endpoint, '../escape.zip', Buffer.from('x')), ServiceInvocationError);
  });
});
