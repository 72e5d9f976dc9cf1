// Calling a service on a listening agent.
//
// Against a real Tentacle:
//   HALIBUT_URL=https://tentacle-01:10933/ HALIBUT_THUMBPRINT=<agent thumbprint> \
//   HALIBUT_PFX=octopus.pfx HALIBUT_PFX_PASSWORD=… npx tsx examples/call-a-service.ts
// (the Tentacle must trust the certificate's thumbprint). Without those variables it starts a local agent so the
// example runs anywhere.
import { HalibutClient, RemoteError, generateCertificate, loadCertificateFiles, type Endpoint } from 'halibut-client';
import { ListeningAgent } from 'halibut-client/testing';

interface ICapabilitiesServiceV2 {
  GetCapabilities(): { SupportedCapabilities: string[] };
}

const env = process.env;
let endpoint: Endpoint;
let cleanup = async (): Promise<void> => undefined;

const certificate =
  env['HALIBUT_PFX'] !== undefined
    ? await loadCertificateFiles({ pfx: env['HALIBUT_PFX'], password: env['HALIBUT_PFX_PASSWORD'] ?? '' })
    : await generateCertificate({ commonName: 'example client' });

if (env['HALIBUT_URL'] !== undefined && env['HALIBUT_THUMBPRINT'] !== undefined) {
  endpoint = { url: env['HALIBUT_URL'], thumbprint: env['HALIBUT_THUMBPRINT'] };
} else {
  const agent = new ListeningAgent({
    certificate: await generateCertificate({ commonName: 'example agent' }),
    trustedThumbprints: [certificate.thumbprint],
    services: {
      ICapabilitiesServiceV2: {
        GetCapabilities: () => ({
          $type: 'Octopus.Tentacle.Contracts.Capabilities.CapabilitiesResponseV2, Octopus.Tentacle.Contracts',
          SupportedCapabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2'],
        }),
      },
    },
  });
  const address = await agent.listen();
  endpoint = { url: address.url, thumbprint: address.thumbprint };
  cleanup = () => agent.close();
}

const client = new HalibutClient({ certificate });
console.log(`Our thumbprint (the agent must trust it): ${client.thumbprint}`);
try {
  const capabilities = client.service<ICapabilitiesServiceV2>(endpoint, 'ICapabilitiesServiceV2');
  const response = await capabilities.GetCapabilities();
  console.log(`${endpoint.url} supports:`, response.SupportedCapabilities.join(', '));
} catch (err) {
  if (err instanceof RemoteError) console.error(`The agent answered with an error (${err.code}): ${err.serverMessage}`);
  else console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exitCode = 1;
} finally {
  await client.close();
  await cleanup();
}
