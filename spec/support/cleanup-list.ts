// The list of things to close at the end, kept apart from node:test so that scripts (the soak) can use the same
// helpers without loading the test runner.
const closers: Array<() => unknown> = [];

/** Closes `resource` when the spec file (or script) ends. */
export function onCleanup(close: () => unknown): void {
  closers.push(close);
}

/** Closes everything registered, last opened first. */
export async function closeAll(): Promise<void> {
  while (closers.length > 0) await closers.pop()!();
}
