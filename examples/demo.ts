// The demo: starts the embeddable listening agent on loopback with freshly generated certificates, pins it, and
// drives it through the client: a string, longs, a $type object, a remote error, and a 64 MiB DataStream up and
// back down, with throughput. Run it with `npm run demo`.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DataStream, HalibutClient, Int64, RemoteError, dotnetObject, generateCertificate } from 'halibut-client';
import { ListeningAgent } from 'halibut-client/testing';

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

const agent = new ListeningAgent({
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
const address = await agent.listen({ host: '127.0.0.1', port: 0 });
console.log(`Agent listening at ${address.url} with thumbprint ${address.thumbprint}`);

const client = new HalibutClient({ certificate: clientIdentity });
const endpoint = { url: address.url, thumbprint: address.thumbprint };
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
} finally {
  await client.close();
  await agent.close();
}
console.log('Done.');
