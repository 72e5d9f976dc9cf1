// The rules of a script run's line buffer, on its own: what a full buffer does with and without a reader, when the
// poller may go on, and what is counted as dropped. The end-to-end behaviour is in script-resume.spec.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineBuffer } from '../lib/tentacle/line-buffer.js';
import type { LogLine } from '../lib/tentacle/types.js';

let sequence = 0;
const line = (text: string): LogLine => ({ source: 'stdout', text, time: new Date(0), level: 'default', sequence: sequence++ });
const lines = (n: number, text = 'x'): LogLine[] => Array.from({ length: n }, () => line(text));

/** Settles to 'room', 'no room' (the signal fired) or 'waiting' once pending callbacks have run. */
async function roomState(wait: Promise<boolean>): Promise<'room' | 'no room' | 'waiting'> {
  const pending = Symbol('pending');
  const result = await Promise.race([wait, new Promise<typeof pending>((resolve) => setImmediate(() => resolve(pending)))]);
  return result === pending ? 'waiting' : result ? 'room' : 'no room';
}

/** A reader that has taken one line and is iterating (a generator's body runs from its first `next()`). */
async function reading(buffer: LineBuffer): Promise<AsyncGenerator<LogLine>> {
  const reader = buffer.read();
  const first = reader.next();
  buffer.push(lines(1));
  assert.equal((await first).done, false);
  return reader;
}

describe('LineBuffer', () => {
  it('without a reader, keeps the first lines that fit and drops the rest, never making the poller wait', async () => {
    const buffer = new LineBuffer({ maxLines: 3, maxBytes: 1000 });
    buffer.push(lines(5));
    assert.equal(buffer.size, 3);
    assert.equal(buffer.dropped, 2);
    assert.equal(await roomState(buffer.room(new AbortController().signal)), 'room');
    buffer.end();
    const read: LogLine[] = [];
    for await (const l of buffer.read()) read.push(l);
    assert.equal(read.length, 3);
  });

  it('with a reader, keeps a whole batch past the bound and holds the poller until the reader catches up', async () => {
    const buffer = new LineBuffer({ maxLines: 3, maxBytes: 1000 });
    const reader = buffer.read();
    buffer.push(lines(1));
    assert.equal((await reader.next()).done, false);
    buffer.push(lines(5));
    assert.equal(buffer.size, 5, 'a batch is kept whole');
    assert.equal(buffer.dropped, 0);
    let paused = 0;
    const wait = buffer.room(new AbortController().signal, () => paused++);
    assert.equal(paused, 1);
    assert.equal(await roomState(wait), 'waiting');
    await reader.next();
    await reader.next();
    assert.equal(await roomState(wait), 'waiting', 'still 3 held: full');
    await reader.next();
    assert.equal(await roomState(wait), 'room');
  });

  it('bounds bytes as well as lines', async () => {
    const buffer = new LineBuffer({ maxLines: 100, maxBytes: 10 });
    const reader = await reading(buffer);
    buffer.push([line('é'.repeat(5))]);
    assert.equal(buffer.bytes, 10, 'UTF-8 bytes, not characters');
    assert.equal(await roomState(buffer.room(new AbortController().signal)), 'waiting');
    await reader.next();
    assert.equal(buffer.bytes, 0);
    assert.equal(await roomState(buffer.room(new AbortController().signal)), 'room');
  });

  it('lets the poller go when the signal fires, when the reader stops early, and at the end', async () => {
    const aborted = new LineBuffer({ maxLines: 1, maxBytes: 1000 });
    await reading(aborted);
    aborted.push(lines(2));
    const controller = new AbortController();
    const wait = aborted.room(controller.signal);
    controller.abort();
    assert.equal(await roomState(wait), 'no room');

    const stopped = new LineBuffer({ maxLines: 1, maxBytes: 1000 });
    const r2 = await reading(stopped);
    stopped.push(lines(3));
    const held = stopped.room(new AbortController().signal);
    assert.equal(await roomState(held), 'waiting');
    await r2.return(undefined);
    assert.equal(await roomState(held), 'room');
    assert.equal(stopped.dropped, 3, 'what the reader left is counted');
    stopped.push(lines(4));
    assert.equal(stopped.dropped, 7, 'and so is everything after');
    assert.equal(stopped.size, 0);

    const ended = new LineBuffer({ maxLines: 1, maxBytes: 1000 });
    await reading(ended);
    ended.push(lines(3));
    const atEnd = ended.room(new AbortController().signal);
    ended.end();
    assert.equal(await roomState(atEnd), 'room');
  });

  it('can be read once', async () => {
    const buffer = new LineBuffer({ maxLines: 1, maxBytes: 1 });
    buffer.end();
    assert.equal((await buffer.read().next()).done, true, 'nothing to read');
    // The first read() above took the buffer; a second one is refused.
    await assert.rejects(buffer.read().next(), TypeError);
  });
});
