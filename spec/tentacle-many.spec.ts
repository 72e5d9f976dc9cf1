// runScriptOnMany against several embedded Tentacle agents over real TLS, with real bash scripts: per-target events
// in order, failing, unreachable and slow targets, the concurrency limit as the agents see it, failFast, an abort
// that reaches every agent as CancelScript, the summary, and what happens to lines nobody reads.
//
// Nothing here waits for time to pass: a script that must stay running holds until the test creates its release
// file, and the test releases it when the events (or the agents) show what it is waiting for.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConnectError,
  DuplicateTargetNameError,
  InvalidTargetError,
  TentacleClient,
  diagnosticsChannels,
  type ManyScriptRun,
  type ScriptCompletedMessage,
  type ScriptTarget,
  type TargetEvent,
  type TentacleClientOptions,
} from '../lib/index.js';
import type { StartedTentacleAgent } from '../lib/testing/index.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';
import { freePort } from './support/ports.js';
import { startTestTentacle, testTentacleClients } from './support/tentacle-agent.js';

closeEverythingAfterwards();
const ids = await identities();

/** Fast polling, and a start that answers at once, so that held scripts are seen running without waiting. */
const FAST: TentacleClientOptions = { poll: { minDelayMs: 10, maxDelayMs: 50 }, startWaitMs: 0 };

/**
 * Every target runs this. What each does comes from its agent's environment: its name, its exit code, and a file to
 * wait for (saying `holding` first) before it exits. A script never released gives up after about a minute with exit
 * code 99, so that a broken cancellation fails its test instead of hanging it.
 */
const BODY = [
  'echo "on $AGENT_NAME"',
  'echo "second line of $AGENT_NAME"',
  'if [ -n "$HOLD" ]; then',
  '  echo holding',
  '  for (( i = 0; i < 3000; i++ )); do [ -e "$HOLD" ] && exit "${AGENT_EXIT:-0}"; sleep 0.02; done',
  '  echo "gave up holding"; exit 99',
  'fi',
  'exit "${AGENT_EXIT:-0}"',
].join('\n');

interface FleetAgent {
  name: string;
  agent: StartedTentacleAgent;
  target: ScriptTarget;
  /** Lets a holding script exit. */
  release(): void;
  /** How many requests of `IScriptServiceV2.method` this agent has received. */
  requests(method: string): number;
  /** Every request this agent has received. */
  allRequests(): number;
}

/** Agents that run BODY, and what they see together: scripts present (started, not yet completed) across all. */
class Fleet {
  running = 0;
  maxRunning = 0;
  readonly #holdDir: string;

  constructor() {
    this.#holdDir = mkdtempSync(join(tmpdir(), 'tentacle-many-spec-'));
    const dir = this.#holdDir;
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  }

  async agent(name: string, behaviour: { exit?: number; hold?: boolean } = {}): Promise<FleetAgent> {
    const hold = join(this.#holdDir, name);
    const env: Record<string, string> = { AGENT_NAME: name, AGENT_EXIT: String(behaviour.exit ?? 0) };
    if (behaviour.hold === true) env['HOLD'] = hold;
    const agent = await startTestTentacle({ env, tcpNoDelay: true });
    onCleanup(() => agent.close());
    const counts = new Map<string, number>();
    let all = 0;
    agent.agent.on('request', (request) => {
      all++;
      if (request.service !== 'IScriptServiceV2') return;
      counts.set(request.method, (counts.get(request.method) ?? 0) + 1);
      // A script is present on its agent from StartScript until CompleteScript.
      if (request.method === 'StartScript') this.maxRunning = Math.max(this.maxRunning, ++this.running);
      if (request.method === 'CompleteScript') this.running--;
    });
    return {
      name,
      agent,
      target: { name, ...agent.endpoint },
      release: () => writeFileSync(hold, ''),
      requests: (method) => counts.get(method) ?? 0,
      allRequests: () => all,
    };
  }

  async agents(...names: string[]): Promise<FleetAgent[]> {
    return Promise.all(names.map((name) => this.agent(name)));
  }
}

const tentacleClient = (): TentacleClient => testTentacleClients(ids, FAST, { retry: false }).tentacle;

/** A target nothing listens at. */
async function unreachable(): Promise<ScriptTarget> {
  return { url: `https://127.0.0.1:${await freePort()}/`, thumbprint: ids.agent.thumbprint };
}

/** A target whose script holds, then one that can start only after it (one at a time). */
async function holderThenIdle(): Promise<{ holder: FleetAgent; never: FleetAgent; tentacle: TentacleClient; run: ManyScriptRun }> {
  const fleet = new Fleet();
  const holder = await fleet.agent('h1', { hold: true });
  const never = await fleet.agent('e1');
  const tentacle = tentacleClient();
  return { holder, never, tentacle, run: tentacle.runScriptOnMany([holder.target, never.target], { body: BODY, concurrency: 1 }) };
}

async function collect(run: ManyScriptRun, onEvent: (event: TargetEvent, seen: readonly TargetEvent[]) => void = () => undefined): Promise<TargetEvent[]> {
  const events: TargetEvent[] = [];
  for await (const event of run) {
    events.push(event);
    onEvent(event, events);
  }
  return events;
}

const of = (events: readonly TargetEvent[], target: string): TargetEvent[] => events.filter((e) => e.target === target);
const scriptLines = (events: readonly TargetEvent[], target: string): string[] =>
  of(events, target).flatMap((e) => (e.type === 'line' && e.line.source === 'stdout' && e.line.level === 'default' ? [e.line.text] : []));
const isHolding = (event: TargetEvent): boolean => event.type === 'line' && event.line.text === 'holding';

/** Each target's events: `start`, then lines only, then one `result` or `error` (or only `skipped`). */
function assertInOrder(events: readonly TargetEvent[], target: string): void {
  const types = of(events, target).map((e) => e.type);
  if (types[0] === 'skipped') return assert.deepEqual(types, ['skipped'], `${target}: ${types.join(' ')}`);
  assert.equal(types[0], 'start', `${target}: ${types.join(' ')}`);
  assert.match(types.at(-1)!, /^(result|error)$/, `${target}: ${types.join(' ')}`);
  assert.ok(types.slice(1, -1).every((t) => t === 'line'), `${target}: ${types.join(' ')}`);
}

describe('runScriptOnMany', () => {
  it('runs on every target; a failing script and an unreachable agent fail alone; events per target in order; the summary says it all', async () => {
    const fleet = new Fleet();
    const [one, two] = await fleet.agents('one', 'two');
    const bad = await fleet.agent('bad', { exit: 3 });
    const nowhere = await unreachable();
    const tentacle = tentacleClient();

    const run = tentacle.runScriptOnMany([one!.target, bad.target, nowhere, two!.target], { body: BODY });
    const nowhereName = nowhere.url.slice('https://'.length, -1);
    assert.deepEqual(run.targets, ['one', 'bad', nowhereName, 'two'], 'a target without a name is named by its host:port');
    const events = await collect(run);
    const summary = await run;

    for (const name of run.targets) assertInOrder(events, name);
    for (const name of ['one', 'two', 'bad']) {
      assert.deepEqual(scriptLines(events, name), [`on ${name}`, `second line of ${name}`], 'each line is reported under the target it came from');
    }
    assert.deepEqual(summary.succeeded, ['one', 'two']);
    assert.deepEqual(summary.failed, ['bad', nowhereName]);
    assert.deepEqual(summary.cancelled, []);
    assert.deepEqual(summary.skipped, []);
    assert.equal(summary.stoppedBy, undefined);
    assert.equal(summary.droppedLines, 0);
    assert.deepEqual(
      summary.targets.map((t) => [t.name, t.status, t.exitCode]),
      [
        ['one', 'succeeded', 0],
        ['bad', 'failed', 3],
        [nowhereName, 'failed', undefined],
        ['two', 'succeeded', 0],
      ],
    );
    const outcome = (name: string) => summary.targets.find((t) => t.name === name)!;
    assert.equal(outcome('one').url, one!.agent.url);
    assert.equal(outcome('one').result?.lineCount, of(events, 'one').filter((e) => e.type === 'line').length);
    assert.equal(outcome('bad').result?.exitCode, 3);
    const failure = outcome(nowhereName).error;
    assert.ok(failure instanceof ConnectError, String(failure));
    assert.equal(failure.code, 'ERR_CONNECT');
    const errorEvent = of(events, nowhereName).at(-1);
    assert.ok(errorEvent?.type === 'error' && errorEvent.error === failure);
    const badResult = of(events, 'bad').at(-1);
    assert.ok(badResult?.type === 'result' && badResult.status === 'failed' && badResult.result.exitCode === 3);
  });

  it('a slow target holds back nobody: the others end while it runs', async () => {
    const fleet = new Fleet();
    const slow = await fleet.agent('slow', { hold: true });
    const fast = await fleet.agents('fast-1', 'fast-2', 'fast-3');
    const tentacle = tentacleClient();
    const run = tentacle.runScriptOnMany([slow, ...fast].map((a) => a.target), { body: BODY });
    // The slow script exits only once the test has seen every fast target's result.
    const events = await collect(run, (_event, seen) => {
      if (seen.filter((e) => e.type === 'result').length === fast.length) slow.release();
    });
    const results = events.filter((e) => e.type === 'result').map((e) => e.target);
    assert.deepEqual(results.slice(0, 3).sort(), ['fast-1', 'fast-2', 'fast-3']);
    assert.equal(results[3], 'slow');
    assert.deepEqual((await run).succeeded, ['slow', 'fast-1', 'fast-2', 'fast-3']);
  });

  it('never has more than `concurrency` scripts on the agents at once, and uses all of them', async () => {
    const fleet = new Fleet();
    const names = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    const agents = await Promise.all(names.map((name) => fleet.agent(name, { hold: true })));
    const byName = new Map(agents.map((a) => [a.name, a]));
    const tentacle = tentacleClient();
    const concurrency = 2;
    const run = tentacle.runScriptOnMany(
      agents.map((a) => a.target),
      { body: BODY, concurrency },
    );
    // A script holds until released; the oldest is released once `concurrency` of them hold (or all that are left).
    const holding: string[] = [];
    let released = 0;
    let inProgress = 0;
    await collect(run, (event) => {
      if (event.type === 'start') inProgress++;
      if (event.type === 'result' || event.type === 'error') inProgress--;
      assert.ok(inProgress <= concurrency, `${inProgress} targets in progress`);
      if (isHolding(event)) holding.push(event.target);
      if (holding.length > 0 && holding.length >= Math.min(concurrency, names.length - released)) {
        byName.get(holding.shift()!)!.release();
        released++;
      }
    });
    assert.equal(fleet.maxRunning, concurrency, 'the agents saw exactly `concurrency` scripts at once at most');
    assert.equal(fleet.running, 0);
    assert.deepEqual(
      agents.map((a) => a.agent.tentacle.scriptsStarted),
      names.map(() => 1),
    );
    assert.deepEqual((await run).succeeded, names);
  });

  it('failFast: the first failure cancels the running scripts on their agents and starts no more', async () => {
    const fleet = new Fleet();
    const holders = await Promise.all(['h1', 'h2'].map((name) => fleet.agent(name, { hold: true })));
    const failing = await fleet.agent('fail', { exit: 1, hold: true });
    const never = await fleet.agents('e1', 'e2');
    const tentacle = tentacleClient();
    const run = tentacle.runScriptOnMany([...holders, failing, ...never].map((a) => a.target), { body: BODY, concurrency: 3, failFast: true });
    // The failing script exits once both others are surely running on their agents.
    const events = await collect(run, (_event, seen) => {
      if (new Set(seen.filter(isHolding).map((e) => e.target)).size === 3) failing.release();
    });
    const summary = await run;

    assert.equal(summary.stoppedBy, 'fail-fast');
    assert.deepEqual(summary.failed, ['fail']);
    assert.deepEqual(summary.cancelled, ['h1', 'h2']);
    assert.deepEqual(summary.skipped, ['e1', 'e2']);
    assert.deepEqual(summary.succeeded, []);
    for (const holder of holders) {
      assert.ok(holder.requests('CancelScript') >= 1, `${holder.name}'s agent was asked to cancel`);
      const last = of(events, holder.name).at(-1);
      assert.ok(last?.type === 'result' && last.status === 'cancelled' && last.result.cancelled, JSON.stringify(last));
      assert.deepEqual(readdirSync(holder.agent.tentacle.workRoot), [], 'the cancelled script was cleaned up');
    }
    assert.equal(failing.requests('CancelScript'), 0);
    for (const skipped of never) {
      assert.deepEqual(of(events, skipped.name), [{ type: 'skipped', target: skipped.name, reason: 'fail-fast' }]);
      assert.equal(skipped.allRequests(), 0, `${skipped.name}'s agent heard nothing`);
    }
    for (const name of run.targets) assertInOrder(events, name);
    assert.equal(summary.targets.find((t) => t.name === 'fail')?.exitCode, 1);
  });

  it('without failFast a failure stops nobody', async () => {
    const fleet = new Fleet();
    const failing = await fleet.agent('fail', { exit: 1 });
    const others = await fleet.agents('o1', 'o2', 'o3');
    const tentacle = tentacleClient();
    // One at a time, the failing target first: every other target starts after the failure is known.
    const summary = await tentacle.runScriptOnMany([failing, ...others].map((a) => a.target), { body: BODY, concurrency: 1 });
    assert.deepEqual(summary.failed, ['fail']);
    assert.deepEqual(summary.succeeded, ['o1', 'o2', 'o3']);
    assert.equal(summary.stoppedBy, undefined);
  });

  it('an abort cancels every running script on its agent, skips the rest, and the summary says which', async () => {
    const fleet = new Fleet();
    const holders = await Promise.all(['h1', 'h2', 'h3'].map((name) => fleet.agent(name, { hold: true })));
    const never = await fleet.agent('e1');
    const tentacle = tentacleClient();
    const controller = new AbortController();
    const run = tentacle.runScriptOnMany([...holders, never].map((a) => a.target), { body: BODY, concurrency: 3, signal: controller.signal });
    const events = await collect(run, (_event, seen) => {
      if (new Set(seen.filter(isHolding).map((e) => e.target)).size === 3) controller.abort();
    });
    const summary = await run;

    assert.equal(summary.stoppedBy, 'abort');
    assert.deepEqual(summary.cancelled, ['h1', 'h2', 'h3']);
    assert.deepEqual(summary.skipped, ['e1']);
    assert.deepEqual(summary.failed, []);
    for (const holder of holders) {
      assert.ok(holder.requests('CancelScript') >= 1, `${holder.name}'s agent was asked to cancel`);
      assert.equal(holder.requests('CompleteScript'), 1);
      assert.deepEqual(readdirSync(holder.agent.tentacle.workRoot), []);
    }
    assert.deepEqual(of(events, 'e1'), [{ type: 'skipped', target: 'e1', reason: 'aborted' }]);
    assert.equal(never.allRequests(), 0);
    assert.equal(fleet.running, 0);
  });

  it('cancel() does what the signal does; an already aborted signal starts nothing', async () => {
    const { holder, never, tentacle, run } = await holderThenIdle();
    await collect(run, (event) => {
      if (isHolding(event)) run.cancel();
    });
    const summary = await run;
    assert.deepEqual([summary.cancelled, summary.skipped, summary.stoppedBy], [['h1'], ['e1'], 'abort']);
    assert.ok(holder.requests('CancelScript') >= 1);

    const aborted = tentacle.runScriptOnMany([holder.target, never.target], { body: BODY, signal: AbortSignal.abort() });
    const events = await collect(aborted);
    assert.deepEqual(
      events.map((e) => [e.type, e.target]),
      [
        ['skipped', 'h1'],
        ['skipped', 'e1'],
      ],
    );
    assert.deepEqual((await aborted).skipped, ['h1', 'e1']);
    assert.equal(holder.agent.tentacle.scriptsStarted, 1, 'only the first run started a script');
    assert.equal(never.allRequests(), 0);
  });

  it('closing the TentacleClient cancels the running scripts and starts no more targets', async () => {
    const { holder, never, tentacle, run } = await holderThenIdle();
    let closing: Promise<void> | undefined;
    await collect(run, (event) => {
      if (isHolding(event)) closing = tentacle.close();
    });
    await closing;
    const summary = await run;
    assert.deepEqual([summary.cancelled, summary.skipped, summary.stoppedBy], [['h1'], ['e1'], 'abort']);
    assert.ok(holder.requests('CancelScript') >= 1);
    assert.equal(never.allRequests(), 0);
  });

  it('awaited without being iterated, it drops the lines and counts them; iterating afterwards is an error', async () => {
    const fleet = new Fleet();
    const agents = await fleet.agents('a', 'b', 'c');
    const tentacle = tentacleClient();
    const run = tentacle.runScriptOnMany(
      agents.map((a) => a.target),
      { body: BODY, concurrency: 1 },
    );
    const summary = await run;
    assert.deepEqual(summary.succeeded, ['a', 'b', 'c'], 'every target ran, though nobody read its lines');
    for (const outcome of summary.targets) {
      assert.ok(outcome.result!.lineCount >= 2);
      assert.equal(outcome.droppedLines, outcome.result!.lineCount);
    }
    assert.equal(
      summary.droppedLines,
      summary.targets.reduce((sum, t) => sum + t.result!.lineCount, 0),
    );
    assert.throws(() => run[Symbol.asyncIterator](), /awaited before it was iterated/);
  });

  it('can be iterated once', async () => {
    const fleet = new Fleet();
    const [agent] = await fleet.agents('a');
    const run = tentacleClient().runScriptOnMany([agent!.target], { body: BODY });
    await collect(run);
    assert.throws(() => run[Symbol.asyncIterator](), (err: unknown) => err instanceof TypeError && /only once/.test(err.message));
    assert.deepEqual((await run).succeeded, ['a']);
  });

  it('leaving the loop early drops the rest of the lines; the targets still run to their end', async () => {
    const fleet = new Fleet();
    const agents = await fleet.agents('a', 'b');
    const run = tentacleClient().runScriptOnMany(
      agents.map((a) => a.target),
      { body: BODY, concurrency: 1 },
    );
    let delivered = 0;
    for await (const event of run) {
      if (event.type !== 'line') continue;
      delivered++;
      break;
    }
    const summary = await run;
    assert.deepEqual(summary.succeeded, ['a', 'b']);
    const total = summary.targets.reduce((sum, t) => sum + t.result!.lineCount, 0);
    assert.equal(summary.droppedLines, total - delivered);
    assert.equal(summary.targets[1]!.droppedLines, summary.targets[1]!.result!.lineCount);
  });

  it('a reader that does not take events holds the target in progress: the next one does not start, and nothing is reordered', async () => {
    const fleet = new Fleet();
    const [first, second] = await fleet.agents('first', 'second');
    let onCompleted: (message: unknown) => void = () => undefined;
    const firstRunEnded = new Promise<void>((resolve) => {
      onCompleted = (message) => {
        if ((message as ScriptCompletedMessage).endpoint === first!.agent.url) resolve();
      };
    });
    subscribe(diagnosticsChannels.scriptCompleted, onCompleted);
    onCleanup(() => unsubscribe(diagnosticsChannels.scriptCompleted, onCompleted));
    const run = tentacleClient().runScriptOnMany([first!.target, second!.target], { body: BODY, concurrency: 1 });
    const events = run[Symbol.asyncIterator]();
    assert.deepEqual((await events.next()).value, { type: 'start', target: 'first' });
    // The first script's run ends while its lines wait to be taken (each run keeps its own lines until read).
    await firstRunEnded;
    await new Promise(setImmediate); // the run's result settles a few promise jobs after it is published
    assert.equal(second!.allRequests(), 0, 'the second target was not started while the first one’s events wait');

    const rest: TargetEvent[] = [];
    for (let next = await events.next(); next.done !== true; next = await events.next()) rest.push(next.value);
    const firstEnds = rest.findIndex((e) => e.type === 'result' && e.target === 'first');
    assert.ok(firstEnds > 0);
    assert.ok(rest.slice(0, firstEnds).every((e) => e.target === 'first' && e.type === 'line'));
    assert.deepEqual(rest[firstEnds + 1], { type: 'start', target: 'second' });
    assert.equal((await run).droppedLines, 0);
  });

  it('refuses a bad target list or bad options before starting anything, with typed errors', async () => {
    const fleet = new Fleet();
    const [agent] = await fleet.agents('a');
    const tentacle = tentacleClient();
    const target = agent!.target;
    const unnamed = agent!.agent.endpoint;

    assert.throws(
      () => tentacle.runScriptOnMany([target, { ...target }], { body: BODY }),
      (err: unknown) => err instanceof DuplicateTargetNameError && err.code === 'ERR_DUPLICATE_TARGET_NAME' && err.targetName === 'a' && err.indexes.join() === '0,1',
    );
    // Two unnamed targets at the same address share their default name.
    assert.throws(() => tentacle.runScriptOnMany([unnamed, { ...unnamed }], { body: BODY }), DuplicateTargetNameError);
    assert.throws(
      () => tentacle.runScriptOnMany([target, { name: 'x', url: 'http://nope/', thumbprint: target.thumbprint }], { body: BODY }),
      (err: unknown) => err instanceof InvalidTargetError && err.code === 'ERR_INVALID_TARGET' && err.index === 1 && /https/.test(err.message),
    );
    assert.throws(() => tentacle.runScriptOnMany([{ ...target, thumbprint: 'not hex' }], { body: BODY }), InvalidTargetError);
    assert.throws(() => tentacle.runScriptOnMany([{ ...target, name: '' }], { body: BODY }), InvalidTargetError);
    assert.throws(() => tentacle.runScriptOnMany([{ ...target, name: 'two\nlines' }], { body: BODY }), InvalidTargetError);
    assert.throws(() => tentacle.runScriptOnMany('a' as unknown as ScriptTarget[], { body: BODY }), TypeError);
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => tentacle.runScriptOnMany([target], { body: BODY, concurrency }), /concurrency/);
    }
    assert.throws(() => tentacle.runScriptOnMany([target], { body: BODY, timeoutMs: -1 }), /timeoutMs/);
    assert.throws(() => tentacle.runScriptOnMany([target], {} as { body: string }), /body/);
    assert.equal(agent!.allRequests(), 0, 'nothing reached the agent');

    const empty = tentacle.runScriptOnMany([], { body: BODY });
    assert.deepEqual(await collect(empty), []);
    assert.deepEqual(await empty, { targets: [], succeeded: [], failed: [], cancelled: [], skipped: [], stoppedBy: undefined, droppedLines: 0 });
  });
});
