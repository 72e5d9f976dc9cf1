// Resuming and bounding script runs, against the embedded Tentacle agent over real TLS with real bash processes:
// caller-chosen V2 tickets, the ticket exposed before the start goes out, attachScript after the client that
// started a script is gone (the script runs once, its remaining output arrives once), unknown tickets, V1 agents;
// and the bounded line buffer: a stalled reader pauses the polling, a run nobody iterates still completes.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ScriptExitCodes,
  ScriptNotFoundError,
  ScriptTicketUnsupportedError,
  TentacleClient,
  diagnosticsChannels,
  type LogLine,
  type ScriptPausedMessage,
  type ScriptStatusMessage,
  type TentacleClientOptions,
} from '../lib/index.js';
import type { StartedTentacleAgent } from '../lib/testing/index.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { identities } from './support/identities.js';
import { startTestTentacle, testTentacleClients } from './support/tentacle-agent.js';

closeEverythingAfterwards();
const ids = await identities();

/** Fast polling so that tests spend their time in the scripts, not in back-off. */
const FAST: TentacleClientOptions = { poll: { minDelayMs: 2, maxDelayMs: 10 }, startWaitMs: 0 };

const tentacle = startTestTentacle;
const tentacleClient = (options: TentacleClientOptions = FAST): TentacleClient => testTentacleClients(ids, options).tentacle;

/** A directory the test and the scripts share, for the files a script waits on. */
function sharedDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'script-resume-spec-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A bash loop that waits for `file` to exist: how a test lets a script go on, without timing. It gives up (exit 99)
 * after about two minutes, so that a script whose test process was killed does not poll for ever.
 */
const waitFor = (file: string): string => `for _ in $(seq 1 2400); do [ -e '${file}' ] && break; sleep 0.05; done; [ -e '${file}' ] || exit 99`;

/** Counts the agent's decoded requests by method of a service. */
function countRequests(agent: StartedTentacleAgent, service: string): (method: string) => number {
  const counts = new Map<string, number>();
  agent.agent.on('request', (r) => {
    if (r.service === service) counts.set(r.method, (counts.get(r.method) ?? 0) + 1);
  });
  return (method) => counts.get(method) ?? 0;
}

/** True when every line's sequence is above the one before it. */
const rising = (lines: readonly LogLine[]): boolean => lines.every((l, i) => i === 0 || l.sequence > lines[i - 1]!.sequence);

const scriptOutput = (lines: readonly LogLine[]): string[] => lines.filter((l) => l.source === 'stdout' && l.level === 'default').map((l) => l.text);

describe('caller-chosen tickets and attachScript', () => {
  it('runs a V2 script under the caller’s ticket, known before the start goes out, and reports when the agent has it', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    const run = client.runScript(agent.endpoint, { body: 'echo hello', ticket: 'deploy-42.web-01' });
    assert.equal(run.ticket, 'deploy-42.web-01', 'known at once');
    assert.deepEqual(await run.started, { ticket: 'deploy-42.web-01', service: 'IScriptServiceV2' });
    const result = await run;
    assert.equal(result.ticket, 'deploy-42.web-01');
    assert.equal(result.exitCode, 0);
    assert.equal(agent.tentacle.scriptsStarted, 1);
  });

  it('exposes a generated V2 ticket before the agent answers the start', async () => {
    const agent = await tentacle();
    const dir = sharedDir();
    const client = tentacleClient();
    const starts = countRequests(agent, 'IScriptServiceV2');
    const run = client.runScript(agent.endpoint, { body: `${waitFor(join(dir, 'go'))}; echo done` });
    // The start does not return before the script has begun (startWaitMs 0), so once the agent has seen the
    // request the ticket must already be there for the caller to store.
    await eventually(() => assert.equal(starts('StartScript'), 1), 30_000);
    assert.match(run.ticket ?? '', /^[A-Za-z0-9]{10,}$/);
    const started = await run.started;
    assert.equal(started?.ticket, run.ticket);
    writeFileSync(join(dir, 'go'), '');
    assert.equal((await run).ticket, run.ticket);
  });

  it('numbers every line by its place in the agent’s log', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    const run = client.runScript(agent.endpoint, { body: 'for i in 1 2 3; do echo "line $i"; done', keepServiceMessages: true });
    const lines: LogLine[] = [];
    for await (const line of run) lines.push(line);
    assert.deepEqual(
      lines.map((l) => l.sequence),
      lines.map((_, i) => i),
      'markers kept: the sequences are 0, 1, 2, … without a gap',
    );
    const unmarked = tentacleClient().runScript(agent.endpoint, { body: 'echo a; echo b' });
    const kept: LogLine[] = [];
    for await (const line of unmarked) kept.push(line);
    const [a, b] = kept.filter((l) => l.source === 'stdout' && (l.text === 'a' || l.text === 'b'));
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(b.sequence, a.sequence + 1);
    assert.ok(rising(kept), 'markers consumed: the sequences still rise');
  });

  it('attaches after the client that started the script is gone: the script runs once and the rest of its output arrives once', async () => {
    const agent = await tentacle();
    const dir = sharedDir();
    const first = tentacleClient();
    const ticket = 'resume-test-1';
    const run = first.runScript(agent.endpoint, {
      body: `echo one; echo two; ${waitFor(join(dir, 'go'))}; echo three; echo four; exit 3`,
      ticket,
    });
    // Read up to "two", then the process "dies": its connections close under the run, nothing cancels the script.
    let handled: LogLine | undefined;
    for await (const line of run) {
      handled = line;
      if (line.text === 'two') break;
    }
    assert.equal(handled?.text, 'two');
    await first.halibut.close();
    await assert.rejects(run.result);

    const second = tentacleClient();
    const attached = second.attachScript(agent.endpoint, ticket, { fromLogSequence: handled.sequence + 1 });
    assert.equal(attached.ticket, ticket);
    assert.deepEqual(await attached.started, { ticket, service: 'IScriptServiceV2' });
    writeFileSync(join(dir, 'go'), '');
    const rest: LogLine[] = [];
    for await (const line of attached) rest.push(line);
    const result = await attached;
    assert.deepEqual(scriptOutput(rest), ['three', 'four'], 'what was handled is not delivered again');
    assert.equal(result.exitCode, 3);
    assert.equal(result.ticket, ticket);
    assert.equal(result.workspaceCleanedUp, true);
    assert.equal(agent.tentacle.scriptsStarted, 1, 'the script ran once');
    assert.equal(existsSync(join(agent.tentacle.workRoot, ticket)), false, 'the attached run cleaned up the workspace');
  });

  it('attaches from the start of the log by default, and cancels an attached script on its agent', async () => {
    const agent = await tentacle();
    const dir = sharedDir();
    const ticket = 'resume-test-2';
    const first = tentacleClient();
    const run = first.runScript(agent.endpoint, { body: `echo started; ${waitFor(join(dir, 'never'))}`, ticket });
    for await (const line of run) if (line.text === 'started') break;
    await first.halibut.close();
    await assert.rejects(run.result);

    const cancels = countRequests(agent, 'IScriptServiceV2');
    const controller = new AbortController();
    const attached = tentacleClient().attachScript(agent.endpoint, ticket, { signal: controller.signal });
    const seen: string[] = [];
    for await (const line of attached) {
      seen.push(line.text);
      if (line.text === 'started') controller.abort();
    }
    const result = await attached;
    assert.ok(seen.includes('started'), 'the whole log, from its start');
    assert.equal(result.cancelled, true);
    assert.ok(cancels('CancelScript') >= 1);
    assert.equal(agent.tentacle.scriptsStarted, 1);
  });

  it('a start repeated with the same ticket follows the running script instead of starting it again', async () => {
    const agent = await tentacle();
    const dir = sharedDir();
    const ticket = 'same-ticket';
    const body = `echo once >> '${join(dir, 'runs')}'; ${waitFor(join(dir, 'go'))}; echo finished`;
    const client = tentacleClient();
    const a = client.runScript(agent.endpoint, { body, ticket });
    await a.started;
    const b = client.runScript(agent.endpoint, { body, ticket });
    await b.started;
    writeFileSync(join(dir, 'go'), '');
    const codes = (await Promise.all([a.result, b.result])).map((r) => r.exitCode).sort((x, y) => y - x);
    // Whichever run sees the end first cleans up the workspace; the other then hears of an unknown ticket.
    assert.equal(codes[0], 0);
    assert.ok(codes[1] === 0 || codes[1] === ScriptExitCodes.UnknownScript, String(codes[1]));
    assert.equal(agent.tentacle.scriptsStarted, 1, 'the agent started it once');
    assert.equal(readFileSync(join(dir, 'runs'), 'utf8'), 'once\n', 'the script ran once');
  });

  it('reports an unknown ticket as ScriptNotFoundError and leaves no workspace behind', async () => {
    const agent = await tentacle();
    const run = tentacleClient().attachScript(agent.endpoint, 'never-started');
    const error = await run.result.catch((err: unknown) => err);
    assert.ok(error instanceof ScriptNotFoundError, String(error));
    assert.equal(error.code, 'ERR_SCRIPT_NOT_FOUND');
    assert.equal(error.ticket, 'never-started');
    assert.match(error.message, /knows no script with ticket 'never-started'/);
    assert.equal(await run.started, undefined, 'never started');
    assert.equal(existsSync(join(agent.tentacle.workRoot, 'never-started')), false);
  });

  it('refuses a caller-chosen ticket on a V1-only agent before anything starts', async () => {
    const agent = await tentacle({ capabilities: false, scriptServiceV2: false });
    const run = tentacleClient().runScript(agent.endpoint, { body: 'echo hi', ticket: 'v1-ticket' });
    const error = await run.result.catch((err: unknown) => err);
    assert.ok(error instanceof ScriptTicketUnsupportedError, String(error));
    assert.equal(error.code, 'ERR_SCRIPT_TICKET_UNSUPPORTED');
    assert.equal(agent.tentacle.scriptsStarted, 0);
    assert.throws(() => tentacleClient().runScript(agent.endpoint, { body: 'echo hi', ticket: 'x', service: 'IScriptService' }), TypeError);
  });

  it('rejects tickets that could not name a directory, and bad sequences', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    for (const ticket of ['', '../up', 'a/b', '.hidden', 'x'.repeat(129), 'with space']) {
      assert.throws(() => client.runScript(agent.endpoint, { body: 'true', ticket }), TypeError, ticket);
      assert.throws(() => client.attachScript(agent.endpoint, ticket), TypeError, ticket);
    }
    assert.throws(() => client.attachScript(agent.endpoint, 'ok', { fromLogSequence: -1 }), TypeError);
    assert.throws(() => client.attachScript(agent.endpoint, 'ok', { fromLogSequence: 1.5 }), TypeError);
    assert.equal(agent.tentacle.scriptsStarted, 0);
  });
});

describe('the bounded line buffer', () => {
  it('pauses the polling while a reader is behind, then delivers every line in order', async () => {
    const agent = await tentacle();
    const dir = sharedDir();
    const client = tentacleClient();
    const ticket = 'bounded-reader';
    let polls = 0;
    let pause: { polls: number; bufferedLines: number } | undefined;
    const onStatus = (message: unknown): void => {
      if ((message as ScriptStatusMessage).ticket === ticket) polls++;
    };
    const onPaused = (message: unknown): void => {
      const m = message as ScriptPausedMessage;
      if (m.ticket === ticket) pause ??= { polls, bufferedLines: m.bufferedLines };
    };
    subscribe(diagnosticsChannels.scriptStatus, onStatus);
    subscribe(diagnosticsChannels.scriptPaused, onPaused);
    onCleanup(() => {
      unsubscribe(diagnosticsChannels.scriptStatus, onStatus);
      unsubscribe(diagnosticsChannels.scriptPaused, onPaused);
    });
    const run = client.runScript(agent.endpoint, {
      body: `for i in $(seq 1 200); do echo "a$i"; done; ${waitFor(join(dir, 'go'))}; for i in $(seq 1 200); do echo "b$i"; done`,
      ticket,
      maxBufferedLines: 10,
    });
    const reader = run[Symbol.asyncIterator]();
    const first = await reader.next();
    assert.equal(first.done, false, 'a reader is iterating');
    await eventually(() => assert.ok(pause !== undefined, 'the run paused its polling'), 30_000);
    assert.ok(pause !== undefined);
    assert.ok(pause.bufferedLines >= 10, `paused with a full buffer (${pause.bufferedLines} lines)`);
    // A witness run on the same agent and schedule completes, polling several times, while the stalled run may not.
    const witness = await tentacleClient().runScript(agent.endpoint, { body: 'for i in 1 2 3; do echo w; sleep 0.05; done' });
    assert.equal(witness.exitCode, 0);
    assert.equal(polls, pause.polls, 'no polling while the reader is behind');

    writeFileSync(join(dir, 'go'), '');
    const lines: LogLine[] = [first.value];
    for (let next = await reader.next(); next.done !== true; next = await reader.next()) lines.push(next.value);
    const result = await run;
    assert.ok(polls > pause.polls, 'polling resumed');
    assert.deepEqual(scriptOutput(lines), [...Array.from({ length: 200 }, (_, i) => `a${i + 1}`), ...Array.from({ length: 200 }, (_, i) => `b${i + 1}`)]);
    assert.ok(rising(lines), 'in the order of the agent’s log');
    assert.equal(result.droppedLines, 0, 'nothing lost');
    assert.equal(result.exitCode, 0);
  });

  it('a run nobody iterates completes, keeping its first lines and counting the rest as dropped', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    const run = client.runScript(agent.endpoint, { body: 'for i in $(seq 1 100); do echo "n$i"; done', maxBufferedLines: 10 });
    const result = await run;
    assert.equal(result.exitCode, 0);
    assert.equal(result.droppedLines, result.lineCount - 10);
    const kept: LogLine[] = [];
    for await (const line of run) kept.push(line);
    assert.equal(kept.length, 10);
    assert.ok(rising(kept), 'in order');
    const printed = scriptOutput(kept);
    assert.deepEqual(printed, printed.map((_, i) => `n${i + 1}`), 'the first lines, not the last');
  });

  it('a reader that stops early does not hold the run: it completes and counts what nobody read', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    const run = client.runScript(agent.endpoint, { body: 'for i in $(seq 1 100); do echo "n$i"; done', maxBufferedLines: 5 });
    for await (const line of run) if (line.source === 'stdout') break;
    const result = await run;
    assert.equal(result.exitCode, 0);
    assert.ok(result.droppedLines > 0 && result.droppedLines < result.lineCount, `${result.droppedLines} of ${result.lineCount}`);
  });

  it('rejects bounds that are not positive', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    assert.throws(() => client.runScript(agent.endpoint, { body: 'true', maxBufferedLines: 0 }), TypeError);
    assert.throws(() => client.runScript(agent.endpoint, { body: 'true', maxBufferedBytes: -1 }), TypeError);
    assert.equal(agent.tentacle.scriptsStarted, 0);
  });
});

describe('recording the end before the workspace goes (beforeCleanup)', () => {
  it('is told how the script ended while its workspace is still there, after every line reached the run', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    const ticket = 'cleanup-hook-1';
    const seen: { end: unknown; workspaceThere: boolean; startsOf: number }[] = [];
    const run = client.runScript(agent.endpoint, {
      body: 'echo a; echo b; exit 4',
      ticket,
      beforeCleanup: (end) => {
        seen.push({ end, workspaceThere: existsSync(join(agent.tentacle.workRoot, ticket)), startsOf: agent.tentacle.startsOf(ticket) });
      },
    });
    const lines: LogLine[] = [];
    for await (const line of run) lines.push(line);
    const result = await run;
    assert.equal(seen.length, 1, 'called once');
    assert.deepEqual(seen[0], { end: { ticket, exitCode: 4, cancelled: false, lineCount: result.lineCount }, workspaceThere: true, startsOf: 1 });
    assert.equal(result.lineCount, lines.length);
    assert.deepEqual(scriptOutput(lines), ['a', 'b']);
    assert.equal(existsSync(join(agent.tentacle.workRoot, ticket)), false, 'cleaned up after the callback');
  });

  it('keeps the workspace when the callback fails, so that the script can be attached again and reports the same end', async () => {
    const agent = await tentacle();
    const ticket = 'cleanup-hook-2';
    const failure = new Error('the database is down');
    const run = tentacleClient().runScript(agent.endpoint, {
      body: 'echo only; exit 7',
      ticket,
      beforeCleanup: () => Promise.reject(failure),
    });
    await assert.rejects(run.result, (err) => err === failure);
    assert.equal(existsSync(join(agent.tentacle.workRoot, ticket)), true, 'the workspace is kept');

    const again = tentacleClient().attachScript(agent.endpoint, ticket);
    const lines: LogLine[] = [];
    for await (const line of again) lines.push(line);
    const result = await again;
    assert.equal(result.exitCode, 7);
    assert.deepEqual(scriptOutput(lines), ['only'], 'the whole log again');
    assert.equal(agent.tentacle.startsOf(ticket), 1, 'the script ran once');
    assert.equal(agent.tentacle.startsOf(ticket.toUpperCase()), 1, 'tickets compare without regard to case');
    assert.equal(agent.tentacle.startsOf('never-started'), 0);
    assert.equal(existsSync(join(agent.tentacle.workRoot, ticket)), false);
  });

  it('counts a start after CompleteScript as a new start of the ticket', async () => {
    const agent = await tentacle();
    const client = tentacleClient();
    assert.equal((await client.runScript(agent.endpoint, { body: 'true', ticket: 'twice' })).exitCode, 0);
    assert.equal((await client.runScript(agent.endpoint, { body: 'true', ticket: 'twice' })).exitCode, 0);
    assert.equal(agent.tentacle.startsOf('twice'), 2);
    assert.equal(agent.tentacle.scriptsStarted, 2);
  });
});
