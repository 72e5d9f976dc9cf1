// The one way to wait and abort (lib/util/abort.ts): how a wait ends, what it fails with, and that its cleanup runs
// exactly once with the failure, in every way a wait can end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortReason, addAbortListener, isAborted, withDeadline, type Settle } from '../lib/util/abort.js';

const never = (): Error => new Error('the deadline is not under test');

describe('withDeadline', () => {
  it('resolves with what the work settles with, and cleans up once without an error', async () => {
    const cleanups: Array<Error | undefined> = [];
    let settle: Settle<string> | undefined;
    const wait = withDeadline<string>({ timeoutMs: 60_000, expired: never }, undefined, (s) => {
      settle = s;
      return (error) => cleanups.push(error);
    });
    settle?.resolve('done');
    settle?.reject(new Error('too late'));
    assert.equal(await wait, 'done');
    assert.deepEqual(cleanups, [undefined]);
  });

  it('fails with the error `expired` makes when the time is up, and hands it to the cleanup', async () => {
    const expired = new Error('out of time');
    const cleanups: Array<Error | undefined> = [];
    await assert.rejects(
      withDeadline({ timeoutMs: 1, expired: () => expired }, undefined, () => (error) => cleanups.push(error)),
      (err: unknown) => err === expired,
    );
    assert.deepEqual(cleanups, [expired]);
  });

  it('fails with the signal’s reason when it fires, or a new Error when the reason is not one', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const wait = withDeadline({ timeoutMs: undefined, expired: never }, controller.signal, () => undefined);
    controller.abort(reason);
    await assert.rejects(wait, (err: unknown) => err === reason);

    const other = new AbortController();
    const waitOther = withDeadline({ timeoutMs: undefined, expired: never }, other.signal, () => undefined);
    other.abort('a string');
    await assert.rejects(waitOther, (err: unknown) => err instanceof Error && err.cause === 'a string');
  });

  it('does not start the work when the signal has already fired; `aborted` chooses the error', async () => {
    let started = false;
    const custom = new Error('cancelled, in our words');
    await assert.rejects(
      withDeadline({ timeoutMs: 60_000, expired: never, aborted: () => custom }, AbortSignal.abort(), () => {
        started = true;
        return undefined;
      }),
      (err: unknown) => err === custom,
    );
    assert.equal(started, false);
  });

  it('owes the cleanup, with the failure, to work that settles while it starts', async () => {
    const failure = new Error('at once');
    const cleanups: Array<Error | undefined> = [];
    await assert.rejects(
      withDeadline({ timeoutMs: 60_000, expired: never }, undefined, (s) => {
        s.reject(failure);
        return (error) => cleanups.push(error);
      }),
      (err: unknown) => err === failure,
    );
    assert.deepEqual(cleanups, [failure]);
  });

  it('a throw from the work rejects the wait', async () => {
    await assert.rejects(
      withDeadline({ timeoutMs: 60_000, expired: never }, undefined, () => {
        throw new RangeError('bad start');
      }),
      RangeError,
    );
  });
});

describe('addAbortListener, isAborted, abortReason', () => {
  it('runs the listener once when the signal fires, and never after it was disposed', async () => {
    const fired: string[] = [];
    const a = new AbortController();
    const b = new AbortController();
    addAbortListener(a.signal, () => fired.push('a'));
    addAbortListener(b.signal, () => fired.push('b'))[Symbol.dispose]();
    a.abort();
    b.abort();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(fired, ['a']);
    addAbortListener(undefined, () => fired.push('none'))[Symbol.dispose]();
    assert.equal(isAborted(a.signal), true);
    assert.equal(isAborted(undefined), false);
    assert.equal(abortReason(AbortSignal.abort(new TypeError('why'))).message, 'why');
  });
});
