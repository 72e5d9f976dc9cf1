// Diagnostic logging (the debug package) must never reveal a private key, a key passphrase or a message body.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import createDebug from 'debug';
import { DataStream, HalibutClient, loadPem } from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { captureDebugLog } from './support/debug-log.js';
import { identities } from './support/identities.js';
import { startScriptedProxy } from './support/proxies.js';
import { createPrivateKey } from 'node:crypto';
import { tracingChannel } from 'node:diagnostics_channel';
import { freePort } from './support/ports.js';

closeEverythingAfterwards();

describe('logging', () => {
  it('logs every layer; no log line or error ever holds a key, passphrase, proxy password or message body', async () => {
    const lines = captureDebugLog();

    const ids = await identities();
    const passphrase = 'correct horse battery staple';
    const encryptedKey = createPrivateKey(ids.client.key).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
    const secretBody = 'TOP-SECRET-PAYLOAD-1f7c';
    const { endpoint } = await startAgent({ services: { S: { Echo: (s: string) => s, Hash: async (d: DataStream) => (await d.toBuffer()).length, Throw: (s: string) => { throw new Error(`refused ${s.length} chars`); } } } });
    const client = new HalibutClient({ certificate: loadPem(ids.client.cert, encryptedKey, { passphrase }), retry: false });
    onCleanup(() => client.close());
    assert.equal(await client.call(endpoint, { service: 'S', method: 'Echo', params: [secretBody] }), secretBody);
    await client.call(endpoint, { service: 'S', method: 'Hash', params: [DataStream.fromBuffer(secretBody)] });
    const errors: string[] = [];
    const keep = (err: unknown): void => {
      errors.push(err instanceof Error ? `${err.message}\n${String(err.stack)}\n${JSON.stringify(err)}` : String(err));
    };
    await client.call({ url: endpoint.url, thumbprint: ids.stranger.thumbprint }, { service: 'S', method: 'Echo', params: [secretBody] }).catch(keep);
    await client.call(endpoint, { service: 'S', method: 'Throw', params: [secretBody] }).catch(keep);
    // Through a proxy with a password: a working tunnel, and one the proxy refuses.
    const proxyPassword = 'pr0xy-pa55word';
    const proxy = await startScriptedProxy('forward');
    const proxied = new HalibutClient({ certificate: ids.client, proxy: `http://user:${proxyPassword}@127.0.0.1:${proxy.port}`, retry: false });
    onCleanup(() => proxied.close());
    assert.equal(await proxied.call(endpoint, { service: 'S', method: 'Echo', params: ['via proxy'] }), 'via proxy');
    const refusing = await startScriptedProxy('status', 'HTTP/1.1 407 Proxy Authentication Required');
    await new HalibutClient({ certificate: ids.client, proxy: `http://user:${proxyPassword}@127.0.0.1:${refusing.port}`, retry: false })
      .call(endpoint, { service: 'S', method: 'Echo', params: ['x'] })
      .catch(keep);
    await proxied.close();
    await client.close();
    assert.equal(errors.length, 3);

    const log = lines.join('\n');
    const everything = `${log}\n${errors.join('\n')}`;
    assert.ok(!everything.includes(proxyPassword), 'the proxy password appears in no log line and no error');
    assert.ok(!everything.includes(Buffer.from(`user:${proxyPassword}`).toString('base64')), 'nor its Basic encoding');
    for (const ns of ['halibut:client', 'halibut:pool', 'halibut:transport', 'halibut:agent']) assert.ok(log.includes(ns), `${ns} logged`);
    const keyBody = ids.client.key.split('\n').slice(1, -2).join('');
    for (const secret of ['PRIVATE KEY', keyBody.slice(0, 40), encryptedKey.split('\n')[1]!, passphrase]) {
      assert.ok(!everything.includes(secret), `a log line or error contains ${secret.slice(0, 20)}…`);
    }
    assert.ok(!log.includes(secretBody), 'no log line contains a message body');
  });

  it('halibut:call writes one line per call: method, endpoint, attempts, duration and outcome, never a value', async () => {
    const lines = captureDebugLog('halibut:call');
    const ids = await identities();
    const secret = 'PARAMETER-VALUE-9d2e';
    const { endpoint } = await startAgent({
      services: {
        S: {
          Echo: (s: string) => s,
          Throw: (s: string) => {
            throw new Error(`refused ${s}`);
          },
        },
      },
    });
    const client = new HalibutClient({ certificate: ids.client, retry: { attempts: 2, delayMs: 1 } });
    onCleanup(() => client.close());
    const url = new URL(endpoint.url);
    const normalised = `https://127.0.0.1:${url.port}/`;
    assert.equal(await client.call(endpoint, { service: 'S', method: 'Echo', params: [secret] }), secret);
    await assert.rejects(client.call(endpoint, { service: 'S', method: 'Throw', params: [secret] }), (err: unknown) => err instanceof Error && err.message.includes(secret));
    const refused = `https://127.0.0.1:${await freePort()}/`;
    await assert.rejects(client.call({ url: refused, thumbprint: ids.agent.thumbprint }, { service: 'S', method: 'Echo', params: [secret] }));

    assert.equal(lines.length, 3, lines.join('\n'));
    assert.match(lines[0]!, new RegExp(`halibut:call S\\.Echo ${normalised} ok, 1 attempt, \\d+\\.\\d ms`));
    assert.match(lines[1]!, new RegExp(`halibut:call S\\.Throw ${normalised} failed: ServiceInvocationError ERR_\\w+, 1 attempt, \\d+\\.\\d ms, the request had started`));
    assert.match(lines[2]!, new RegExp(`halibut:call S\\.Echo ${refused} failed: ConnectError ERR_\\w+, 2 attempts, \\d+\\.\\d ms, the request never started`));
    for (const line of lines) assert.ok(!line.includes(secret), `a parameter value in: ${line}`);

    // Disabled again: no line, and the call channel is left without a subscriber.
    createDebug.disable();
    await client.call(endpoint, { service: 'S', method: 'Echo', params: ['x'] });
    assert.equal(lines.length, 3);
    assert.equal(tracingChannel('halibut:call').hasSubscribers, false);
  });
});
