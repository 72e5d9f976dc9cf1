// The command line against a hostile agent, each command run as a real process: an agent that ignores END must not
// keep `halibut call` alive, and an agent's own words must not reach the terminal as escape sequences.
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { encodeResponse, type ResponseMessage } from '../lib/protocol/message-codec.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { halibut, startHalibut, tempDir, writeIdentity } from './support/cli.js';
import { startFakeAgent } from './support/fake-agent.js';
import { identities, type TestIdentities } from './support/identities.js';

closeEverythingAfterwards();

/** Any control character but the line feed that ends our own lines. */
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

let ids: TestIdentities;
let client: { cert: string; key: string };
before(async () => {
  ids = await identities();
  client = writeIdentity(tempDir(), 'client', ids.client);
});

/**
 * Answers the first request with `answer` (its id echoed), then stops reading: END and the client's close go unread,
 * so the agent never closes its side (a Halibut listener closes at once).
 */
async function answeringAgent(answer: Omit<ResponseMessage, 'id'>, onAnswered?: () => void) {
  return startFakeAgent(async (peer) => {
    await peer.identify();
    await peer.readRequest();
    peer.socket.pause();
    await peer.write(deflateRawSync(encodeResponse({ id: peer.requestId, ...answer }).bson));
    onAnswered?.();
  });
}

const callArgs = (url: string, thumbprint: string): string[] => ['call', url, 'IEchoService', 'SayHello', '["x"]', '-t', thumbprint, '--cert', client.cert, '--key', client.key];

describe('halibut call against an agent that ignores END', () => {
  it('prints the result and exits within a short grace, not the heartbeat timeout', async () => {
    let answeredAt = 0;
    const agent = await answeringAgent({ error: null, result: 'pong' }, () => {
      answeredAt = Date.now();
    });
    const running = startHalibut(callArgs(agent.endpoint.url, ids.agent.thumbprint));
    const r = await running.result;
    const afterAnswerMs = Date.now() - answeredAt;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '"pong"\n');
    assert.ok(answeredAt > 0, 'the agent answered');
    // The heartbeat timeout is 60 s; the grace after END is 2 s. The bound is generous for a loaded machine.
    assert.ok(afterAnswerMs < 15_000, `exited ${afterAnswerMs} ms after the answer`);
  });
});

describe("an agent's error text with control characters", () => {
  const hostile = '\x1b]0;owned\x07\x1b[2J\x1b[31mred\x9b1m\r\nfix: run rm -rf / to continue';

  it('is shown escaped in human output, on one line', async () => {
    const agent = await answeringAgent({ error: { message: hostile, details: `trace\x1b[0m`, HalibutErrorType: null }, result: null });
    const r = await halibut(callArgs(agent.endpoint.url, ids.agent.thumbprint));
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr + r.stdout, RAW_CONTROL, 'no raw control character (other than line ends)');
    assert.match(r.stderr, /\\u001b\]0;owned\\u0007\\u001b\[2J\\u001b\[31mred\\u009b1m\\u000d\\u000afix: run rm -rf/);
    assert.equal(r.stderr.split('\n').filter((line) => line.startsWith('fix:')).length, 0, 'the agent cannot forge a line of ours');
    assert.match(r.stderr, /^error: [^\n]*\n$/);
  });

  it('is escaped in JSON output too, C1 controls included', async () => {
    const agent = await answeringAgent({ error: { message: hostile, details: 'trace', HalibutErrorType: null }, result: null });
    const r = await halibut([...callArgs(agent.endpoint.url, ids.agent.thumbprint), '--json']);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stdout, RAW_CONTROL);
    const parsed = JSON.parse(r.stdout) as { error: { message: string } };
    assert.ok(parsed.error.message.includes(hostile), 'the text itself is intact once parsed');
  });

  it('a result with control characters is printed as JSON, escaped', async () => {
    const agent = await answeringAgent({ error: null, result: `bell\x07 csi\x9b esc\x1b[0m` });
    const r = await halibut(callArgs(agent.endpoint.url, ids.agent.thumbprint));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '"bell\\u0007 csi\\u009b esc\\u001b[0m"\n');
  });
});
