// Waits for a condition that becomes true after asynchronous cleanup (a socket closing, a handle going away).
// It polls instead of sleeping a fixed time, and fails with the last assertion error if the bound runs out.
import { setTimeout as delay } from 'node:timers/promises';

export async function eventually(check: () => void | Promise<void>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await delay(wait);
  }
}

/** Counts open TCP handles in this process (client sockets, server sockets, listeners). */
export function openTcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'TLSWrap').length;
}

/**
 * Fails unless every socket and timer this file opened is gone (run after all clients and agents are closed).
 * The test runner's own stdio pipes are not counted.
 */
export async function assertNoOpenSockets(): Promise<void> {
  const { strict: assert } = await import('node:assert');
  await eventually(() => assert.deepEqual(process.getActiveResourcesInfo().filter((r) => /TCP|TLS|Timeout/.test(r)), []));
}
