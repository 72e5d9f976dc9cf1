/**
 * Tentacle's script isolation: one reader-writer lock per mutex name. `FullIsolation` takes it exclusively,
 * `NoIsolation` shares it. Waiters are served strictly in arrival order, so a waiting exclusive script holds back
 * shared ones that arrive after it (as the async reader-writer lock a Tentacle uses does), and nobody starves.
 */
import { ScriptIsolationLevel } from '../../contracts/index.js';
import { withDeadline } from '../../util/abort.js';

/** The mutex was not acquired within the timeout. */
export class MutexTimeoutError extends Error {
  constructor(name: string, timeoutMs: number) {
    super(`The isolation mutex '${name}' was not acquired within ${timeoutMs} ms`);
    this.name = 'MutexTimeoutError';
  }
}

/** Waiting for the mutex was cancelled. */
export class MutexCanceledError extends Error {
  constructor(name: string) {
    super(`Waiting for the isolation mutex '${name}' was cancelled`);
    this.name = 'MutexCanceledError';
  }
}

export interface AcquireOptions {
  /** Who is asking, for the messages other waiters see (a task id). */
  owner: string;
  /** Give up after this long; 0 or less waits for ever. */
  timeoutMs: number;
  /** Cancels the wait (not a lock already held). */
  signal: AbortSignal;
  /** Called once, if the lock is not free at once, with a message saying who is being waited for. */
  onWait(message: string): void;
}

/** Gives the lock back. Calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  exclusive: boolean;
  owner: string;
  grant(): void;
}

interface Lock {
  /** Owners holding it shared. */
  readers: Map<symbol, string>;
  /** The owner holding it exclusively. */
  writer: { id: symbol; owner: string } | undefined;
  queue: Waiter[];
}

// setTimeout's limit; .NET's int.MaxValue milliseconds (the builders' default timeout) is exactly this.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class IsolationMutexes {
  readonly #locks = new Map<string, Lock>();

  /** Takes the mutex `name`: exclusively for `FullIsolation`, shared for `NoIsolation`. */
  acquire(name: string, level: ScriptIsolationLevel, options: AcquireOptions): Promise<Release> {
    const exclusive = level === ScriptIsolationLevel.FullIsolation;
    if (options.signal.aborted) return Promise.reject(new MutexCanceledError(name));
    const lock = this.#lock(name);
    if (lock.queue.length === 0 && this.#canEnter(lock, exclusive)) return Promise.resolve(this.#enter(name, lock, exclusive, options.owner));

    options.onWait(waitMessage(lock, exclusive));
    const ms = options.timeoutMs > 0 ? Math.min(options.timeoutMs, MAX_TIMER_MS) : undefined;
    const expired = (): Error => new MutexTimeoutError(name, ms ?? 0);
    // The signal's reason is the caller's; what the waiting script is told is that its turn was cancelled.
    const aborted = (): Error => new MutexCanceledError(name);
    return withDeadline<Release>({ timeoutMs: ms, expired, aborted, unref: true }, options.signal, (settle) => {
      const waiter: Waiter = {
        exclusive,
        owner: options.owner,
        grant: () => settle.resolve(this.#enter(name, lock, exclusive, options.owner)),
      };
      lock.queue.push(waiter);
      return (failure) => {
        if (failure === undefined) return;
        const at = lock.queue.indexOf(waiter);
        if (at >= 0) lock.queue.splice(at, 1);
        // The one that left may have been what held back those behind it.
        this.#pump(name, lock);
      };
    });
  }

  #lock(name: string): Lock {
    let lock = this.#locks.get(name);
    if (lock === undefined) {
      lock = { readers: new Map(), writer: undefined, queue: [] };
      this.#locks.set(name, lock);
    }
    return lock;
  }

  #canEnter(lock: Lock, exclusive: boolean): boolean {
    return lock.writer === undefined && (!exclusive || lock.readers.size === 0);
  }

  #enter(name: string, lock: Lock, exclusive: boolean, owner: string): Release {
    const id = Symbol(owner);
    if (exclusive) lock.writer = { id, owner };
    else lock.readers.set(id, owner);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (lock.writer?.id === id) lock.writer = undefined;
      lock.readers.delete(id);
      this.#pump(name, lock);
    };
  }

  /** Lets in waiters from the front of the queue for as long as they fit. */
  #pump(name: string, lock: Lock): void {
    for (let next = lock.queue[0]; next !== undefined && this.#canEnter(lock, next.exclusive); next = lock.queue[0]) {
      lock.queue.shift();
      next.grant();
    }
    if (lock.writer === undefined && lock.readers.size === 0 && lock.queue.length === 0) this.#locks.delete(name);
  }
}

/** The text a Tentacle shows while a script waits (the wording is close to, not exactly, a Tentacle's). */
function waitMessage(lock: Lock, exclusive: boolean): string {
  if (lock.writer !== undefined) {
    return `Waiting for the script in task ${lock.writer.owner} to finish as that script requires that no other Octopus scripts are executing on this target at the same time.`;
  }
  const tasks = [...new Set(lock.readers.values())];
  if (exclusive && tasks.length > 0) {
    return `Waiting for the scripts in tasks ${tasks.join(', ')} to finish as this script requires that no other Octopus scripts are executing on this target at the same time.`;
  }
  const queued = lock.queue.find((w) => w.exclusive);
  return `Waiting for the script in task ${queued?.owner ?? 'another task'} to finish as that script requires that no other Octopus scripts are executing on this target at the same time.`;
}
