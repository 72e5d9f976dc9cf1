// A client makes its TLS context (our certificate and key as OpenSSL holds them) once and shares it across its
// connections: counted at node:tls, which every new context goes through, tls.connect's own included.
import assert from 'node:assert/strict';
import { syncBuiltinESMExports } from 'node:module';
import tls from 'node:tls';
import { describe, it, mock } from 'node:test';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';

closeEverythingAfterwards();

describe('the TLS context of a client', () => {
  it('is made once for many connections', async () => {
    const { client, endpoint, connections } = await startAgent(
      { services: { S: { Ping: (n: number) => n + 1 } } },
      // No idle connection is kept: every call opens a new one.
      { maxIdlePerEndpoint: 0 },
    );
    const made = mock.method(tls, 'createSecureContext');
    // The library imports createSecureContext by name: the named export follows the mocked property only once synced.
    syncBuiltinESMExports();
    try {
      for (let i = 0; i < 5; i++) assert.equal(await client.call(endpoint, { service: 'S', method: 'Ping', params: [i] }), i + 1);
      assert.equal(connections(), 5, 'every call opened its own connection');
      assert.equal(made.mock.callCount(), 1, `contexts made for 5 connections: ${made.mock.callCount()}`);
    } finally {
      made.mock.restore();
      syncBuiltinESMExports();
    }
  });
});
