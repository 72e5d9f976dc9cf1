// One call against an agent that answers with a hostile result, in a process of its own so that the memory figures
// are this call's alone. Usage: node --expose-gc --import tsx spec/support/hostile-call.ts DIR LENGTH
// DIR holds result.deflate, the compressed result element (see hostile-messages.ts), and identities.json, the client's
// and agent's certificates (made once by the test); LENGTH is the length the element claims. Prints one JSON
// line: the outcome (the error's code and bound, or the result's size), the peak RSS growth during the call, the
// longest gap between ticks of a 10 ms timer, and the CPU the process used.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer } from 'node:tls';
import { HalibutClient, MessageTooLargeError } from '../../lib/index.js';
import { ByteReader } from '../../lib/protocol/byte-reader.js';
import { readCompressedMessage } from '../../lib/protocol/compressed-message.js';
import { MX_SERVER, readControlLine, writeAll } from '../../lib/protocol/control-lines.js';
import { decodeMessage } from '../../lib/protocol/message-codec.js';
import { responseWire } from './hostile-messages.js';

/** The certificates the measuring process uses, as the test passes them. */
export interface HostileCallIdentities {
  client: { cert: string; key: string };
  agent: { cert: string; key: string; thumbprint: string };
}

const [dir, length] = process.argv.slice(2);
const result = { deflated: readFileSync(join(dir!, 'result.deflate')), length: Number(length) };
const ids = JSON.parse(readFileSync(join(dir!, 'identities.json'), 'utf8')) as HostileCallIdentities;
const deadline = { phase: 'read' as const, timeoutMs: 60_000 };

const server = createServer({ cert: ids.agent.cert, key: ids.agent.key, requestCert: true, rejectUnauthorized: false }, (socket) => {
  socket.on('error', () => undefined);
  const reader = new ByteReader(socket);
  void (async () => {
    for (let i = 0; i < 4; i++) await readControlLine(reader, deadline);
    await writeAll(socket, MX_SERVER);
    const request = await readCompressedMessage(reader, { maxMessageBytes: 1 << 20, read: deadline });
    const decoded = decodeMessage(request!);
    await writeAll(socket, responseWire(decoded.message.id, result));
    while ((await reader.read(1 << 20)) !== null);
  })().catch(() => socket.destroy());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, thumbprint: ids.agent.thumbprint };
const client = new HalibutClient({ certificate: ids.client, retry: false });

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
gc?.();
const rssBefore = process.memoryUsage().rss;
const maxRssBefore = process.resourceUsage().maxRSS * 1024;
let sampled = rssBefore;
const sampler = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 5);
const delay = monitorEventLoopDelay({ resolution: 10 });
const cpuBefore = process.cpuUsage();
delay.enable();
let outcome: Record<string, unknown>;
try {
  const value = await client.call(endpoint, { service: 'S', method: 'Get', params: [] });
  outcome = { ok: true, size: typeof value === 'string' || Buffer.isBuffer(value) ? value.length : null };
} catch (err) {
  const e = err as { code?: string; message?: string };
  outcome = { ok: false, code: e.code, bound: err instanceof MessageTooLargeError ? err.bound : undefined, message: e.message };
}
delay.disable();
clearInterval(sampler);
const cpu = process.cpuUsage(cpuBefore);
const maxRssAfter = process.resourceUsage().maxRSS * 1024;
// The kernel's peak is exact when the call raised it; otherwise the sampled peak is the call's.
const peak = maxRssAfter > maxRssBefore ? maxRssAfter : sampled;
console.log(
  JSON.stringify({
    ...outcome,
    rssGrowthMiB: Math.round(((peak - rssBefore) / 2 ** 20) * 10) / 10,
    maxBlockMs: Math.round(delay.max / 1e5) / 10,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  }),
);
await client.close();
server.close();
process.exit(0);
