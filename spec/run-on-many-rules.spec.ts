// The rules under runScriptOnMany, with fake script runs (tentacle-many.spec.ts runs it against real agents): the
// hand-over holds one item per producer until it is taken, and lines are pulled from each run only as the
// consumer takes events, however many a run has ready.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLine, ScriptResult, ScriptRun } from '../lib/index.js';
import { EventHandover } from '../lib/tentacle/event-handover.js';
import { ManyRun } from '../lib/tentacle/run-on-many.js';

describe('EventHandover', () => {
  it('an offer is settled only when its item is taken, in the order offered', async () => {
    const handover = new EventHandover<string>();
    const taken: string[] = [];
    const a = handover.offer('a').then((t) => taken.push(`a:${t}`));
    const b = handover.offer('b').then((t) => taken.push(`b:${t}`));
    await new Promise(setImmediate);
    assert.deepEqual(taken, [], 'nothing was taken yet');
    assert.equal(await handover.take(), 'a');
    await a;
    assert.deepEqual(taken, ['a:true']);
    handover.end();
    assert.equal(await handover.take(), 'b', 'what was offered before the end is still taken');
    await b;
    assert.equal(await handover.take(), undefined);
  });

  it('a taker waits for the next offer; discarding settles what waits with false, and every later offer at once', async () => {
    const handover = new EventHandover<number>();
    const next = handover.take();
    void handover.offer(1);
    assert.equal(await next, 1);
    const waiting = handover.offer(2);
    handover.discard();
    assert.equal(await waiting, false);
    assert.equal(await handover.offer(3), false);
    assert.equal(await handover.take(), undefined);
  });
});

/** A run with `count` lines ready at once and its result already known, counting the lines pulled from it. */
function readyRun(count: number): { run: ScriptRun; pulled: () => number } {
  let pulled = 0;
  const result: Promise<ScriptResult> = Promise.resolve({ exitCode: 0, cancelled: false, ticket: 't', service: 'IScriptServiceV2', lineCount: count, droppedLines: 0, workspaceCleanedUp: true });
  const run: ScriptRun = {
    result,
    ticket: 't',
    started: Promise.resolve({ ticket: 't', service: 'IScriptServiceV2' }),
    then: (onfulfilled, onrejected) => result.then(onfulfilled, onrejected),
    cancel: () => undefined,
    async *[Symbol.asyncIterator](): AsyncIterator<LogLine> {
      for (let i = 0; i < count; i++) {
        pulled++;
        yield { source: 'stdout', text: `line ${i}`, time: new Date(0), level: 'default', sequence: i };
      }
    },
  };
  return { run, pulled: () => pulled };
}

const targets = ['a', 'b', 'c'].map((name, i) => ({ name, url: `https://127.0.0.1:${i + 1}/`, thumbprint: '36F35047CE8B000CF4C671819A2DD1AFCDE3403D' }));

describe('ManyRun', () => {
  it('pulls lines from each run only as events are taken: one ahead per target in progress at most', async () => {
    const runs: Array<ReturnType<typeof readyRun>> = [];
    const started: string[] = [];
    const many = new ManyRun(targets, { body: 'x', concurrency: 2 }, (endpoint) => {
      started.push(endpoint.url);
      const made = readyRun(10_000);
      runs.push(made);
      return made.run;
    });
    const events = many[Symbol.asyncIterator]();
    let lines = 0;
    for (let i = 0; i < 500; i++) {
      const next = await events.next();
      if (next.done !== true && next.value.type === 'line') lines++;
      await new Promise(setImmediate); // whatever the run would pull unasked, it has had every chance to
      const pulled = runs.reduce((sum, r) => sum + r.pulled(), 0);
      assert.ok(pulled <= lines + 2, `${pulled} lines pulled, ${lines} taken`);
    }
    assert.equal(started.length, 2, 'the third target waits for a place');
    many.cancel();
    await events.return?.();
    const summary = await many;
    assert.deepEqual(summary.skipped, ['c']);
    assert.equal(summary.droppedLines, 2 * 10_000 - lines);
  });
});
