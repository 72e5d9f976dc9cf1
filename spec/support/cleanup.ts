// Resources a spec file opens (clients, agents, test servers) are closed at the end of the file, last opened first,
// and then the file asserts that no TCP handle is left: a leaked socket in the library fails the run.
//
// node:test's `after()` attaches to whichever test is current in the async context, which an `await` can lose; one
// explicit list per file keeps the order certain.
import { after } from 'node:test';
import { assertNoOpenSockets } from './eventually.js';

const closers: Array<() => unknown> = [];

/** Closes `resource` when the spec file ends. */
export function onCleanup(close: () => unknown): void {
  closers.push(close);
}

/** Call once at the top of a spec file. */
export function closeEverythingAfterwards(): void {
  after(async () => {
    while (closers.length > 0) await closers.pop()!();
    await assertNoOpenSockets();
  });
}
