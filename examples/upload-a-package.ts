// Sending a package to a Tentacle and fetching it back, streamed, with progress and verified SHA-1 hashes.
//
// Against a real Tentacle:
//   HALIBUT_URL=https://tentacle-01:10933/ HALIBUT_THUMBPRINT=<agent thumbprint> \
//   HALIBUT_PFX=octopus.pfx HALIBUT_PFX_PASSWORD=… npx tsx examples/upload-a-package.ts ./MyApp.1.2.3.zip
// Without those variables it starts the embedded agent and sends a generated 32 MiB file.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { HalibutClient, TentacleClient, generateCertificate, loadCertificateFiles, type Endpoint, type TransferProgress } from 'halibut-client';
import { startTentacleAgent } from 'halibut-client/testing';

const env = process.env;
const certificate =
  env['HALIBUT_PFX'] !== undefined
    ? await loadCertificateFiles({ pfx: env['HALIBUT_PFX'], password: env['HALIBUT_PFX_PASSWORD'] ?? '' })
    : await generateCertificate({ commonName: 'example deployment server' });

const scratch = mkdtempSync(join(tmpdir(), 'upload-example-'));
let packagePath = process.argv[2];
if (packagePath === undefined) {
  packagePath = join(scratch, 'MyApp.1.2.3.zip');
  writeFileSync(packagePath, randomBytes(32 * 1024 * 1024));
}

let endpoint: Endpoint;
let cleanup = async (): Promise<void> => undefined;
if (env['HALIBUT_URL'] !== undefined && env['HALIBUT_THUMBPRINT'] !== undefined) {
  endpoint = { url: env['HALIBUT_URL'], thumbprint: env['HALIBUT_THUMBPRINT'] };
} else {
  const local = await startTentacleAgent({ certificate: await generateCertificate({ commonName: 'example tentacle' }), trustedThumbprints: [certificate.thumbprint] });
  endpoint = local.endpoint;
  cleanup = () => local.close();
}

const percent = (label: string) => (p: TransferProgress): void => {
  if (p.total !== undefined && p.total > 0 && (p.bytes === p.total || p.bytes % (8 * 1024 * 1024) < 64 * 1024)) {
    console.log(`${label} ${((p.bytes / p.total) * 100).toFixed(0).padStart(3)}%  ${p.bytes} of ${p.total} bytes`);
  }
};

const halibut = new HalibutClient({ certificate });
const tentacle = new TentacleClient(halibut);
try {
  // A relative path is resolved on the agent (against the Tentacle's home directory).
  const remote = `Files/${basename(packagePath)}`;
  const uploaded = await tentacle.uploadFile(endpoint, remote, packagePath, { onProgress: percent('upload  ') });
  console.log(`Saved as ${uploaded.fullPath}, ${uploaded.length} bytes, SHA-1 ${uploaded.sha1} (checked against what was sent)`);

  const copy = join(scratch, 'downloaded.zip');
  const downloaded = await tentacle.downloadFile(endpoint, remote, copy, { onProgress: percent('download') });
  if (downloaded.sha1 !== uploaded.sha1) throw new Error('The download differs from the upload');
  console.log(`Downloaded ${downloaded.length} bytes back to ${copy}, SHA-1 ${downloaded.sha1}`);
} finally {
  await halibut.close();
  await cleanup();
  rmSync(scratch, { recursive: true, force: true });
}
