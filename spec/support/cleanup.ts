// Resources a spec file opens (clients, agents, test servers) are closed at the end of the file, last opened first,
// and then the file asserts that no socket or timer is left: a leak in the library fails the run.
//
// node:test's `after()` attaches to whichever test is current in the async context, which an `await` can lose; one
// explicit list per file keeps the order certain.
import { after } from 'node:test';
import { closeAll } from './cleanup-list.js';
import { assertNoOpenSockets } from './eventually.js';

export { onCleanup } from './cleanup-list.js';

/** Call once at the top of a spec file. */
export function closeEverythingAfterwards(): void {
  after(async () => {
    await closeAll();
    await assertNoOpenSockets();
  });
}
