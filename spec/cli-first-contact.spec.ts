// The command line's first contact with an agent that will not have us: a rejected certificate, a wrong pin and a
// refused connection are reported at once, however many attempts are allowed; each command runs as a real process.
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { halibut, tempDir, writeIdentity } from './support/cli.js';
import { Forwarder } from './support/forwarder.js';
import { identities, type TestIdentities } from './support/identities.js';
import { freePort } from './support/ports.js';

closeEverythingAfterwards();

let ids: TestIdentities;
let dir: string;
let client: { cert: string; key: string };
before(async () => {
  ids = await identities();
  dir = tempDir();
  client = writeIdentity(dir, 'client', ids.client);
});

describe('failures a person must hear about at once', () => {
  const args = (command: string, url: string, thumbprint: string, identity: { cert: string; key: string }): string[] => {
    const common = ['-t', thumbprint, '--cert', identity.cert, '--key', identity.key, '--attempts', '5', '--json'];
    if (command === 'run') return ['run', url, identity.cert, ...common];
    if (command === 'upload') return ['upload', url, identity.cert, 'remote.txt', ...common];
    if (command === 'download') return ['download', url, 'remote.txt', join(dir, 'downloaded.txt'), ...common];
    if (command === 'call') return ['call', url, 'IEchoService', 'SayHello', '["x"]', ...common];
    return [command, url, ...common];
  };
  const commands = ['run', 'capabilities', 'upload', 'download', 'call'];
  const errorOf = (stdout: string): { code: string; message: string; hint?: string } => {
    const lines = stdout.trim().split('\n');
    return (JSON.parse(lines[lines.length - 1]!) as { error: { code: string; message: string; hint?: string } }).error;
  };

  it('a rejected client certificate: one attempt, however many are allowed', async () => {
    const stranger = writeIdentity(dir, 'stranger', ids.stranger);
    const { agent, endpoint } = await startAgent();
    let rejections = 0;
    agent.on('rejected', () => rejections++);
    for (const command of commands) {
      const before = rejections;
      const r = await halibut(args(command, endpoint.url, ids.agent.thumbprint, stranger));
      assert.equal(r.code, 1, `${command}: ${r.stdout}${r.stderr}`);
      const error = errorOf(r.stdout);
      assert.equal(error.code, 'ERR_AGENT_REJECTED_CLIENT', command);
      assert.match(error.message, /\[1 attempt over/, command);
      assert.match(error.hint ?? '', new RegExp(`Tentacle configure --trust ${ids.stranger.thumbprint}`));
      assert.equal(rejections - before, 1, `${command}: the agent saw ${rejections - before} attempts`);
    }
    // Human output: the usual one line and its fix.
    const human = await halibut(args('run', endpoint.url, ids.agent.thumbprint, stranger).filter((a) => a !== '--json'));
    assert.match(human.stderr, /^error: The agent at .* closed the connection after we identified[^\n]*\[1 attempt over [^\n]*\nfix: The agent does not trust our certificate[^\n]*\n$/);
  });

  it('a wrong pin: one attempt', async () => {
    const { endpoint } = await startAgent();
    // Counted in TCP: the client leaves a mismatched handshake before the agent counts a TLS connection.
    const forwarder = await Forwarder.start(endpoint);
    const url = forwarder.endpointFor(endpoint).url;
    for (const command of commands) {
      const before = forwarder.accepted;
      const r = await halibut(args(command, url, ids.stranger.thumbprint, client));
      assert.equal(r.code, 1, command);
      const error = errorOf(r.stdout);
      assert.equal(error.code, 'ERR_CERTIFICATE_MISMATCH', command);
      assert.match(error.message, /\[1 attempt over/, command);
      assert.equal(forwarder.accepted - before, 1, command);
    }
  });

  it('a refused connection: one attempt', async () => {
    const url = `https://127.0.0.1:${await freePort()}/`;
    for (const command of commands) {
      const r = await halibut(args(command, url, ids.agent.thumbprint, client));
      assert.equal(r.code, 1, command);
      const error = errorOf(r.stdout);
      assert.equal(error.code, 'ERR_CONNECT', command);
      assert.match(error.message, /ECONNREFUSED|refused/i, command);
      assert.match(error.message, /\[1 attempt over/, command);
      assert.match(error.hint ?? '', /Nothing is listening there/);
    }
  });
});
