// Reading a message costs work in proportion to its size, however it is chunked and paced: a hostile agent sends most
// of a large message, then drips the rest a byte at a time with pauses that each used to cost a re-inflation of
// everything received so far.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { HalibutClient } from '../lib/index.js';
import { encodeBson } from '../lib/protocol/bson.js';
import { inflateWork } from '../lib/protocol/compressed-message.js';
import { RESPONSE_TYPE, decodeMessage } from '../lib/protocol/message-codec.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { startFakeAgent } from './support/fake-agent.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();

describe('reading a message costs work in proportion to its size', () => {
  it('60 MB of a message, then one byte every 150 ms for 10 s: the pauses cost no re-inflation of what came before', async (t) => {
    const SIZE = 60_000_000;
    const DRIP_MS = 150;
    const DRIPS = Math.ceil(10_000 / DRIP_MS);
    let drip: { work: number; cpu: NodeJS.CpuUsage; wire: number } | undefined;
    const agent = await startFakeAgent(async (peer) => {
      await peer.identify();
      const request = decodeMessage((await peer.readRequest())!);
      // Stored blocks: 60 MB of message is 60 MB on the wire.
      const bson = encodeBson({ Message: { $type: RESPONSE_TYPE, id: request.message.id, error: null, result: Buffer.alloc(SIZE, 7) } });
      const wire = deflateRawSync(bson, { level: 0 });
      const head = wire.length - DRIPS - 16;
      await peer.write(wire.subarray(0, head));
      // Let the client take in all of it before the drip starts, then count from there.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      drip = { work: inflateWork.compressedBytes, cpu: process.cpuUsage(), wire: wire.length };
      for (let i = 0; i < DRIPS; i++) {
        await new Promise((resolve) => setTimeout(resolve, DRIP_MS));
        await peer.write(wire.subarray(head + i, head + i + 1));
      }
      await peer.write(wire.subarray(head + DRIPS));
      await peer.ignore();
    });
    const client = new HalibutClient({ certificate: ids.client, retry: false });
    onCleanup(() => client.close());
    const result = await client.call(agent.endpoint, { service: 'S', method: 'Get', params: [] });
    assert.ok(drip !== undefined);
    const cpu = process.cpuUsage(drip.cpu);
    const work = inflateWork.compressedBytes - drip.work;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    t.diagnostic(`during the drip: ${work} compressed bytes inflated, ${cpuMs.toFixed(0)} ms of CPU`);
    assert.ok(Buffer.isBuffer(result) && result.length === SIZE);
    // Before, every pause re-inflated everything so far: about 66 × 60 MB. Now at most one check of the end re-inflates
    // the message once (it is made again only when the message has doubled).
    assert.ok(work < 1.5 * drip.wire, `${work} bytes inflated during the drip`);
    assert.ok(cpuMs < 1000, `${cpuMs} ms of CPU during the drip`);
  });
});
