// Diagnostic logging (the debug package) must never reveal a private key, a key passphrase or a message body.
import assert from 'node:assert/strict';
import { format } from 'node:util';
import { describe, it } from 'node:test';
import createDebug from 'debug';
import { DataStream, HalibutClient, loadPem } from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';
import { createPrivateKey } from 'node:crypto';

closeEverythingAfterwards();

describe('logging', () => {
  it('logs every layer and never a key, passphrase or message body', async () => {
    const lines: string[] = [];
    const previousLog = createDebug.log;
    createDebug.log = (...args: unknown[]) => lines.push(format(...args));
    createDebug.enable('halibut:*');
    onCleanup(() => {
      createDebug.disable();
      createDebug.log = previousLog;
    });

    const ids = await identities();
    const passphrase = 'correct horse battery staple';
    const encryptedKey = createPrivateKey(ids.client.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
    const secretBody = 'TOP-SECRET-PAYLOAD-1f7c';
    const { endpoint } = await startAgent({ services: { S: { Echo: (s: string) => s, Hash: async (d: DataStream) => (await d.toBuffer()).length } } });
    const client = new HalibutClient({ certificate: loadPem(ids.client.cert, encryptedKey, { passphrase }), retry: false });
    onCleanup(() => client.close());
    assert.equal(await client.call(endpoint, { service: 'S', method: 'Echo', params: [secretBody] }), secretBody);
    await client.call(endpoint, { service: 'S', method: 'Hash', params: [DataStream.fromBuffer(secretBody)] });
    await client.call({ url: endpoint.url, thumbprint: ids.stranger.thumbprint }, { service: 'S', method: 'Echo', params: [secretBody] }).catch(() => undefined);
    await client.close();

    const log = lines.join('\n');
    for (const ns of ['halibut:client', 'halibut:pool', 'halibut:transport', 'halibut:agent']) assert.ok(log.includes(ns), `${ns} logged`);
    const keyBody = ids.client.key.split('\n').slice(1, -2).join('');
    for (const secret of ['PRIVATE KEY', keyBody.slice(0, 40), encryptedKey.split('\n')[1]!, passphrase, secretBody]) {
      assert.ok(!log.includes(secret), `log contains ${secret.slice(0, 20)}…`);
    }
  });
});
