// Running a deployment script on a Tentacle and watching its output as it runs.
//
// Against a real Tentacle:
//   HALIBUT_URL=https://tentacle-01:10933/ HALIBUT_THUMBPRINT=<agent thumbprint> \
//   HALIBUT_PFX=octopus.pfx HALIBUT_PFX_PASSWORD=… npx tsx examples/run-a-deployment-script.ts
// (the Tentacle must trust the certificate's thumbprint). Without those variables it starts the embedded agent,
// which runs the script with the local bash.
import { HalibutClient, TentacleClient, generateCertificate, loadCertificateFiles, type Endpoint } from 'halibut-client';
import { startTentacleAgent } from 'halibut-client/testing';

const env = process.env;
const certificate =
  env['HALIBUT_PFX'] !== undefined
    ? await loadCertificateFiles({ pfx: env['HALIBUT_PFX'], password: env['HALIBUT_PFX_PASSWORD'] ?? '' })
    : await generateCertificate({ commonName: 'example deployment server' });

let endpoint: Endpoint;
let cleanup = async (): Promise<void> => undefined;
if (env['HALIBUT_URL'] !== undefined && env['HALIBUT_THUMBPRINT'] !== undefined) {
  endpoint = { url: env['HALIBUT_URL'], thumbprint: env['HALIBUT_THUMBPRINT'] };
} else {
  const local = await startTentacleAgent({ certificate: await generateCertificate({ commonName: 'example tentacle' }), trustedThumbprints: [certificate.thumbprint] });
  endpoint = local.endpoint;
  cleanup = () => local.close();
}

const halibut = new HalibutClient({ certificate });
const tentacle = new TentacleClient(halibut);
try {
  const capabilities = await tentacle.capabilities(endpoint);
  console.log(`${endpoint.url} runs scripts with ${capabilities.scriptService}`);

  // Ctrl-C cancels the script on the agent; the run then resolves with cancelled: true.
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());

  const run = tentacle.runScript(endpoint, {
    body: ['echo "Deploying $1 to $(hostname)"', 'cat release-notes.txt', 'echo "a warning" >&2', 'echo "Deployed."'].join('\n'),
    arguments: ['MyApp 1.2.3'],
    files: [{ name: 'release-notes.txt', contents: 'Fixed the frobnicator.\n' }],
    isolation: 'full',
    signal: controller.signal,
  });
  for await (const line of run) {
    if (line.source === 'debug' || line.level !== 'default') continue; // the agent talking, not the script
    (line.source === 'stderr' ? process.stderr : process.stdout).write(`${line.time.toISOString()} ${line.text}\n`);
  }
  const result = await run;
  console.log(`Exit code ${result.exitCode}${result.cancelled ? ' (cancelled)' : ''}`);
  process.exitCode = result.exitCode === 0 ? 0 : 1;
} finally {
  await halibut.close();
  await cleanup();
}
