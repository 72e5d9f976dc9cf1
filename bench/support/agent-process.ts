// A listening agent in its own process, so that client and agent each get a core in a benchmark. It reads the
// trusted client thumbprint from argv, prints one JSON line with its URL and thumbprint, and runs until stdin ends.
import { DataStream, generateCertificate } from '../../lib/index.js';
import { ListeningAgent } from '../../lib/testing/index.js';

const trusted = process.argv[2];
if (trusted === undefined) throw new Error('usage: agent-process <client thumbprint>');

const agent = new ListeningAgent({
  certificate: await generateCertificate({ commonName: 'bench agent' }),
  trustedThumbprints: [trusted],
  services: {
    IBenchService: {
      Echo: (text: string) => text,
      Sink: async (stream: DataStream) => {
        let bytes = 0;
        for await (const chunk of stream.readable()) bytes += (chunk as Buffer).length;
        return bytes;
      },
      Source: (length: number) => {
        const block = Buffer.alloc(64 * 1024, 0x5a);
        return DataStream.fromReadable(
          () =>
            (async function* () {
              for (let sent = 0; sent < length; sent += block.length) yield sent + block.length <= length ? block : block.subarray(0, length - sent);
            })() as unknown as import('node:stream').Readable,
          length,
        );
      },
    },
  },
});
const address = await agent.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ url: address.url, thumbprint: address.thumbprint })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void agent.close().then(() => process.exit(0)));
