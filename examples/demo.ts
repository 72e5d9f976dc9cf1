// The demo: starts the embeddable listening agent on loopback with freshly generated certificates, pins it, and
// drives it through the client: a string, longs, a $type object, a remote error, and a 64 MiB DataStream up and
// back down, with throughput; then, through the Tentacle services, runs a real bash script with its output
// streamed live, and uploads a file and downloads it back with verified hashes. Run it with `npm run demo`.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataStream, HalibutClient, Int64, RemoteError, TentacleClient, dotnetObject, generateCertificate } from 'halibut-client';
import { startTentacleAgent } from 'halibut-client/testing';

interface IDemoService {
  SayHello(name: string): string;
  Add(a: bigint, b: bigint): number;
  Describe(person: object): object;
  Fail(message: string): never;
  Upload(data: DataStream): { bytes: number; sha256: string };
  Download(bytes: number): DataStream;
}

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const block = randomBytes(MiB);

/** 64 MiB of data generated as it is read, never held in memory. */
function generated(): Readable {
  let sent = 0;
  return new Readable({
    read() {
      this.push(sent >= SIZE ? null : block);
      sent += block.length;
    },
  });
}

async function sha256(stream: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

const rate = (bytes: number, ms: number): string => `${((bytes / MiB) / (ms / 1000)).toFixed(0)} MiB/s`;

console.log('Generating certificates for the agent and the client…');
const [agentIdentity, clientIdentity] = await Promise.all([
  generateCertificate({ commonName: 'Demo Tentacle' }),
  generateCertificate({ commonName: 'Demo Server' }),
]);

// The agent serves the Tentacle services (scripts, files, capabilities) and a demo service of our own.
const agent = await startTentacleAgent({
  certificate: agentIdentity,
  trustedThumbprints: [clientIdentity.thumbprint],
  services: {
    IDemoService: {
      SayHello: (name: string) => `Hello, ${name}!`,
      Add: (a: number, b: number) => new Int64(BigInt(a) + BigInt(b)),
      Describe: (person: { Name: string; Age: number }) =>
        dotnetObject('Demo.Description, Demo', { Text: `${person.Name} is ${person.Age}`, Adult: person.Age >= 18 }),
      Fail: (message: string) => {
        throw new Error(message);
      },
      Upload: (data: DataStream) => sha256(data.readable()),
      Download: (bytes: number) => DataStream.fromReadable(generated, bytes),
    },
  },
});
console.log(`Agent listening at ${agent.url} with thumbprint ${agent.thumbprint}`);

const client = new HalibutClient({ certificate: clientIdentity });
const endpoint = agent.endpoint;
const demo = client.service<IDemoService>(endpoint, 'IDemoService');

try {
  console.log('SayHello("Halibut") →', await demo.SayHello('Halibut'));
  console.log('Add(2L, 40L)        →', await demo.Add(2n, 40n));
  console.log('Describe(person)    →', await demo.Describe(dotnetObject('Demo.Person, Demo', { Name: 'Ada', Age: new Int64(36) })));
  try {
    await demo.Fail('the agent says no');
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err;
    console.log(`Fail(…)             → ${err.name} [${err.code}]: ${err.serverMessage}`);
  }

  const expected = await sha256(generated());
  let started = performance.now();
  const uploaded = await demo.Upload(DataStream.fromReadable(generated, SIZE));
  const upMs = performance.now() - started;
  if (uploaded.sha256 !== expected.sha256) throw new Error('Upload hash mismatch');
  console.log(`Upload 64 MiB       → verified sha256 ${uploaded.sha256.slice(0, 16)}… in ${upMs.toFixed(0)} ms (${rate(SIZE, upMs)})`);

  started = performance.now();
  const downloaded = await sha256((await demo.Download(SIZE)).readable());
  const downMs = performance.now() - started;
  if (downloaded.sha256 !== expected.sha256) throw new Error('Download hash mismatch');
  console.log(`Download 64 MiB     → verified sha256 ${downloaded.sha256.slice(0, 16)}… in ${downMs.toFixed(0)} ms (${rate(SIZE, downMs)})`);

  const calls = 500;
  started = performance.now();
  for (let i = 0; i < calls; i++) await demo.SayHello(String(i));
  const callMs = performance.now() - started;
  console.log(`${calls} sequential calls on one pooled connection in ${callMs.toFixed(0)} ms (${((calls / callMs) * 1000).toFixed(0)} calls/s)`);
  console.log('Connections in the pool:', client.stats(endpoint));

  // StartScript normally waits up to 5 s for a short script to finish; answering at once shows the output as it comes.
  const tentacle = new TentacleClient(client, { startWaitMs: 0 });
  const capabilities = await tentacle.capabilities(endpoint);
  console.log(`Capabilities        → ${capabilities.supported.join(', ')} (scripts run with ${capabilities.scriptService})`);

  console.log('Running a deployment script, its output streamed as it runs:');
  const run = tentacle.runScript(endpoint, {
    body: ['echo "Deploying $1"', 'for step in fetch unpack configure; do echo "  $step…"; sleep 0.4; done', 'cat notes.txt', 'echo "a warning on stderr" >&2', 'exit 0'].join('\n'),
    arguments: ['MyApp 1.2.3'],
    files: [{ name: 'notes.txt', contents: '  release notes: fixed the frobnicator\n' }],
  });
  for await (const line of run) {
    if (line.source !== 'debug' && line.level === 'default') console.log(`  [${line.source}] ${line.text}`);
  }
  const result = await run;
  console.log(`Script finished     → exit code ${result.exitCode} via ${result.service}, workspace cleaned up: ${result.workspaceCleanedUp}`);

  const scratch = mkdtempSync(join(tmpdir(), 'halibut-demo-'));
  try {
    const local = join(scratch, 'package.zip');
    writeFileSync(local, randomBytes(8 * MiB));
    const uploaded = await tentacle.uploadFile(endpoint, 'Files/package.zip', local);
    console.log(`uploadFile 8 MiB    → ${uploaded.fullPath}, SHA-1 ${uploaded.sha1} (verified against the bytes sent)`);
    const downloaded = await tentacle.downloadFile(endpoint, 'Files/package.zip', join(scratch, 'copy.zip'));
    if (downloaded.sha1 !== uploaded.sha1) throw new Error('The download differs from the upload');
    console.log(`downloadFile        → ${downloaded.length} bytes back, SHA-1 ${downloaded.sha1}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} finally {
  await client.close();
  await agent.close();
}
console.log('Done.');
