// The decode budget leaves room for real messages and is an option on both sides: a ScriptStatusResponseV2 with
// 100 000 log lines passes the defaults over real TLS from the embedded agent, and lower bounds refuse it, naming the
// bound.
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { decodeScriptStatusResponseV2, encodeScriptStatusResponseV2, ProcessState, type ProcessOutputSource, type ScriptStatusResponseV2 } from '../lib/contracts/index.js';
import { ConnectionClosedError, HalibutClient, MessageTooLargeError } from '../lib/index.js';
import { EncodedDocument, encodeBson } from '../lib/protocol/bson.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();
const MAX_BLOCK_MS = 200;
const MIB = 2 ** 20;

const LINES = 100_000;
const line = (i: number): string => `Deploying step ${i}: extracted package to /home/tentacle/Applications/app/1.0.${i} (${i * 37} files)`;

function bigStatus(): ScriptStatusResponseV2 {
  const when = new Date('2024-05-01T12:00:00.123Z');
  return {
    Ticket: { TaskId: 'GkzVrD6pE0ivh1NGcfQyA' },
    Logs: Array.from({ length: LINES }, (_, i) => ({ Source: (i % 3) as ProcessOutputSource, Occurred: when, Text: line(i) })),
    NextLogSequence: LINES,
    State: ProcessState.Complete,
    ExitCode: 0,
  };
}

describe('the bounds leave room for real messages and are options', () => {
  // Encoded once, before any call, so that the agent's part of a call is a copy and a compression off the loop.
  const encoded = new EncodedDocument(encodeBson(encodeScriptStatusResponseV2(bigStatus())));
  const services = { IScriptServiceV2: { GetStatus: () => encoded } };

  it(`a ScriptStatusResponseV2 with ${LINES} log lines passes the default bounds, over TLS from the embedded agent`, async (t) => {
    const { client, endpoint } = await startAgent({ services });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const raw = await client.call(endpoint, { service: 'IScriptServiceV2', method: 'GetStatus', params: [] });
    delay.disable();
    t.diagnostic(`${encoded.bytes.length} bytes of BSON; longest event-loop block during the call ${(delay.max / 1e6).toFixed(1)} ms`);
    const status = decodeScriptStatusResponseV2(raw, 'result');
    assert.equal(status.Logs.length, LINES);
    assert.equal(status.Logs[LINES - 1]!.Text, line(LINES - 1));
    assert.equal(status.State, ProcessState.Complete);
    assert.ok(delay.max / 1e6 < MAX_BLOCK_MS, `longest block ${delay.max / 1e6} ms`);
  });

  it('the client refuses it when told to accept fewer elements, naming the bound', async () => {
    const { endpoint } = await startAgent({ services });
    const client = new HalibutClient({ certificate: ids.client, retry: false, maxElements: 100_000 });
    onCleanup(() => client.close());
    await assert.rejects(client.call(endpoint, { service: 'IScriptServiceV2', method: 'GetStatus', params: [] }), (err: unknown) => {
      assert.ok(err instanceof MessageTooLargeError);
      assert.equal(err.code, 'ERR_MESSAGE_TOO_LARGE');
      assert.equal(err.bound, 'maxElements');
      assert.equal(err.limit, 100_000);
      assert.match(err.message, /maxElements/);
      return true;
    });
  });

  it('the client refuses it when told to accept less decoded memory', async () => {
    const { endpoint } = await startAgent({ services });
    const client = new HalibutClient({ certificate: ids.client, retry: false, maxDecodedBytes: 8 * MIB });
    onCleanup(() => client.close());
    await assert.rejects(client.call(endpoint, { service: 'IScriptServiceV2', method: 'GetStatus', params: [] }), (err: unknown) => {
      assert.ok(err instanceof MessageTooLargeError);
      assert.equal(err.bound, 'maxDecodedBytes');
      assert.equal(err.limit, 8 * MIB);
      return true;
    });
  });

  it('the agent bounds the requests it decodes', async () => {
    const { agent, endpoint, client } = await startAgent({ services: { S: { Count: (items: unknown[]) => items.length } }, maxElements: 1000 }, { retry: false });
    const errors: Error[] = [];
    agent.on('connectionError', (err) => errors.push(err));
    assert.equal(await client.call(endpoint, { service: 'S', method: 'Count', params: [Array.from({ length: 900 }, (_, i) => i)] }), 900);
    await assert.rejects(client.call(endpoint, { service: 'S', method: 'Count', params: [Array.from({ length: 5000 }, (_, i) => i)] }), ConnectionClosedError);
    assert.ok(errors.some((e) => e instanceof MessageTooLargeError && e.bound === 'maxElements'), errors.map((e) => e.message).join('; '));
  });

  it('rejects the client and agent bound options when they are not positive integers', () => {
    assert.throws(() => new HalibutClient({ certificate: ids.client, maxElements: 0 }), /maxElements/);
    assert.throws(() => new HalibutClient({ certificate: ids.client, maxDecodedBytes: 1.5 }), /maxDecodedBytes/);
  });
});

