// The embeddable agent seen byte by byte from a raw TLS client: what a Halibut client (or a browser) would see.
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { DataStream, Guid } from '../lib/index.js';
import { ByteReader } from '../lib/protocol/byte-reader.js';
import { readCompressedMessage } from '../lib/protocol/compressed-message.js';
import { writeAll } from '../lib/protocol/control-lines.js';
import { decodeMessage, encodeRequest } from '../lib/protocol/message-codec.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();
const deadline = { phase: 'read', timeoutMs: 5000 } as const;

async function rawConnect(url: string, withCertificate = true): Promise<{ socket: TLSSocket; reader: ByteReader; closed: Promise<void> }> {
  const port = Number(new URL(url).port);
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect(
      { host: '127.0.0.1', port, rejectUnauthorized: false, ...(withCertificate ? { cert: ids.client.cert, key: ids.client.key } : {}) },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  onCleanup(() => socket.destroy());
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, reader: new ByteReader(socket), closed };
}

/** Everything the peer sends until it closes. */
async function readToEnd(reader: ByteReader): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let c = await reader.read(1 << 16, deadline); c !== null; c = await reader.read(1 << 16, deadline)) parts.push(c);
  return Buffer.concat(parts);
}

const services = {
  IEchoService: {
    SayHello: (name: string) => `Hello, ${name}!`,
    Length: async (stream: DataStream) => (await stream.toBuffer()).length,
  },
};

describe('the agent on the wire', () => {
  it('shows the friendly page, byte for byte, to anything that does not say MX', async () => {
    const { endpoint } = await startAgent();
    const { socket, reader } = await rawConnect(endpoint.url, false);
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const page = await readToEnd(reader);
    assert.equal(
      page.toString('latin1'),
      'HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 39\r\n\r\n<html><body><p>Hello!</p></body></html>\r\n\r\n',
    );
  });

  it('shows a custom page with custom headers', async () => {
    const { endpoint } = await startAgent({ friendlyHtml: '<p>Tentacle ✓</p>', friendlyHeaders: { 'X-Frame-Options': 'DENY' } });
    const { socket, reader } = await rawConnect(endpoint.url);
    socket.write('HELLO\r\n\r\n');
    const page = (await readToEnd(reader)).toString('utf8');
    assert.match(page, /^HTTP\/1\.0 200 OK\r\n/);
    assert.match(page, /\r\nContent-Length: 17\r\nX-Frame-Options: DENY\r\n\r\n<p>Tentacle ✓<\/p>\r\n\r\n$/);
  });

  it('identifies, serves a request whose data stream arrives in the same TLS record, then NEXT/PROCEED and END', async () => {
    const { endpoint } = await startAgent({ services });
    const { socket, reader, closed } = await rawConnect(endpoint.url);
    await writeAll(socket, Buffer.from('MX\r\n\r\nMX-CLIENT 1.0\r\n\r\n'));
    assert.equal((await reader.readExact(17, 'identity', deadline)).toString('latin1'), 'MX-SERVER 1.0\r\n\r\n');

    const stream = DataStream.fromBuffer(Buffer.alloc(1234, 9));
    const { bson, streams } = encodeRequest({ id: 'r1', activityId: Guid.random(), endpoint: null, service: 'IEchoService', method: 'Length', params: [stream] });
    assert.equal(streams.length, 1);
    const frame = Buffer.alloc(24 + 1234 + 8, 9);
    stream.id.writeTo(frame, 0);
    frame.writeBigInt64LE(1234n, 16);
    frame.writeBigInt64LE(1234n, 24 + 1234);
    // Message and stream in one write, hence one TLS record: a reader that over-reads the deflate stream would fail.
    await writeAll(socket, Buffer.concat([deflateRawSync(bson), frame]));
    const reply = await readCompressedMessage(reader, { maxMessageBytes: 1 << 20, read: deadline });
    const response = decodeMessage(reply!);
    assert.equal(response.kind, 'response');
    assert.deepEqual(response.message, { id: 'r1', error: null, result: 1234 });

    await writeAll(socket, Buffer.from('NEXT\r\n'));
    assert.equal((await reader.readExact(9, 'PROCEED', deadline)).toString('latin1'), 'PROCEED\r\n');
    const second = encodeRequest({ id: 'r2', activityId: Guid.random(), endpoint: null, service: 'IEchoService', method: 'SayHello', params: ['again'] });
    await writeAll(socket, deflateRawSync(second.bson));
    const reply2 = decodeMessage((await readCompressedMessage(reader, { maxMessageBytes: 1 << 20, read: deadline }))!);
    assert.equal((reply2.message as { result: unknown }).result, 'Hello, again!');

    await writeAll(socket, Buffer.from('END\r\n'));
    await closed;
  });

  it('closes a connection that stays idle after a response longer than its NEXT timeout', async () => {
    const { endpoint } = await startAgent({ services, nextTimeoutMs: 100 });
    const { socket, reader, closed } = await rawConnect(endpoint.url);
    await writeAll(socket, Buffer.from('MX\r\n\r\nMX-CLIENT 1.0\r\n\r\n'));
    await reader.readExact(17, 'identity', deadline);
    const req = encodeRequest({ id: 'r', activityId: Guid.random(), endpoint: null, service: 'IEchoService', method: 'SayHello', params: ['x'] });
    await writeAll(socket, deflateRawSync(req.bson));
    await readCompressedMessage(reader, { maxMessageBytes: 1 << 20, read: deadline });
    assert.equal((await readToEnd(reader)).length, 0, 'closed without another byte');
    await closed;
  });

  it('closes without a response when it cannot read the request', async () => {
    const { agent, endpoint } = await startAgent({ services });
    const errors: Error[] = [];
    agent.on('connectionError', (e) => errors.push(e));
    const { socket, reader } = await rawConnect(endpoint.url);
    await writeAll(socket, Buffer.from('MX\r\n\r\nMX-CLIENT 1.0\r\n\r\n'));
    await reader.readExact(17, 'identity', deadline);
    await writeAll(socket, Buffer.from('definitely not deflate'));
    assert.equal((await readToEnd(reader)).length, 0);
    assert.equal(errors.length, 1);
  });

  it('answers MX with nothing at all for an untrusted certificate', async () => {
    const { agent, endpoint } = await startAgent({ services });
    agent.untrust(ids.client.thumbprint);
    const { socket, reader } = await rawConnect(endpoint.url);
    await writeAll(socket, Buffer.from('MX\r\n\r\nMX-CLIENT 1.0\r\n\r\n'));
    assert.equal((await readToEnd(reader)).length, 0);
  });
});
