// A hostile agent against the client, over real TLS: answers that are not ours, renegotiation with another
// certificate, a proxy that echoes our credentials. Each hostile peer is written here; the client is the real one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { HalibutClient, ProtocolError, type Endpoint, type HalibutClientOptions } from '../lib/index.js';
import { encodeBson } from '../lib/protocol/bson.js';
import { PROCEED, readNonEmptyControlLine } from '../lib/protocol/control-lines.js';
import { RESPONSE_TYPE } from '../lib/protocol/message-codec.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { startFakeAgent } from './support/fake-agent.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();

function client(options: Partial<HalibutClientOptions> = {}): HalibutClient {
  const c = new HalibutClient({ certificate: ids.client, retry: false, ...options });
  onCleanup(() => c.close());
  return c;
}

const ping = (c: HalibutClient, endpoint: Endpoint): Promise<unknown> => c.call(endpoint, { service: 'S', method: 'Ping', params: [] });

describe('our id or nothing', () => {
  // Each answers the first call correctly (so that the connection is pooled and the id of that call is known), then
  // answers the second with the given Message (its id field replaced or removed).
  const cases: Array<[string, (firstId: string) => Record<string, unknown>, RegExp]> = [
    ['an empty id', () => ({ id: '' }), /without our call's id/],
    ['no id at all', () => ({}), /without our call's id/],
    ['an id that is not a string', () => ({ id: 42 }), /without our call's id/],
    ["another call's id (the previous one, replayed)", (firstId) => ({ id: firstId }), /answered a different call/],
  ];
  for (const [name, idField, message] of cases) {
    it(`a response with ${name} is a protocol error, and its connection is not pooled`, async () => {
      const agent = await startFakeAgent(async (peer) => {
        await peer.identify();
        await peer.readRequest();
        const firstId = peer.requestId;
        await peer.write(response({ id: firstId }));
        assert.equal(await readNonEmptyControlLine(peer.reader), 'NEXT');
        await peer.write(PROCEED);
        await peer.readRequest();
        assert.notEqual(peer.requestId, firstId);
        await peer.write(response(idField(firstId)));
        await peer.ignore();
      });
      const c = client();
      assert.equal(await ping(c, agent.endpoint), 'pong');
      await assert.rejects(ping(c, agent.endpoint), (err: unknown) => err instanceof ProtocolError && err.code === 'ERR_PROTOCOL' && message.test(err.message));
      assert.deepEqual(c.stats(agent.endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
      await eventually(() => assert.equal(agent.openConnections(), 0));
    });
  }
});

/** A response message with `pong` as its result and the given fields (the id among them, or not). */
function response(fields: Record<string, unknown>): Buffer {
  return deflateRawSync(encodeBson({ Message: { $type: RESPONSE_TYPE, ...fields, error: null, result: 'pong' } }));
}
