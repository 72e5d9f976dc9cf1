/**
 * Tentacle's script isolation: one reader-writer lock per mutex name. `FullIsolation` takes it exclusively,
 * `NoIsolation` shares it. Waiters are served strictly in arrival order, so a waiting exclusive script holds back
 * shared ones that arrive after it (as the async reader-writer lock a Tentacle uses does), and nobody starves.
 */
import { withDeadline } from '../../util/abort.js';
import { ScriptIsolationLevel } from '../../contracts/index.js';

/** The mutex was not acquired within the timeout. */
export class MutexTimeoutError extends Error {
  /** What a Tentacle writes to the script's log, naming the tasks that still hold the mutex. */
  readonly logMessage: string;
  constructor(name: string, timeoutMs: number, logMessage: string) {
    super(`The isolation mutex '${name}' was not acquired within ${timeoutMs} ms`);
    this.name = 'MutexTimeoutError';
    this.logMessage = logMessage;
  }
}

/** Waiting for the mutex was cancelled. */
export class MutexCanceledError extends Error {
  /** What a Tentacle writes to the script's log, naming the tasks that still hold the mutex. */
  readonly logMessage: string;
  constructor(name: string, logMessage: string) {
    super(`Waiting for the isolation mutex '${name}' was cancelled`);
    this.name = 'MutexCanceledError';
    this.logMessage = logMessage;
  }
}

/** A Tentacle looks at the lock again after 100 ms, then every 10 minutes, writing a wait message each time. */
export const FIRST_WAIT_MESSAGE_MS = 100;
export const LATER_WAIT_MESSAGE_MS = 10 * 60_000;

export interface AcquireOptions {
  /** Who is asking, for the messages other waiters see (a task id). */
  owner: string;
  /** Give up after this long; 0 or less waits for ever. */
  timeoutMs: number;
  /** Cancels the wait (not a lock already held). */
  signal: AbortSignal;
  /**
   * Called while the lock is not free, with a message saying who is being waited for: first after
   * {@link FIRST_WAIT_MESSAGE_MS}, then every {@link LATER_WAIT_MESSAGE_MS}, as a Tentacle writes them.
   */
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
    const lock = this.#lock(name);
    if (options.signal.aborted) {
      const error = new MutexCanceledError(name, canceledMessage(lock, options.owner));
      this.#pump(name, lock);
      return Promise.reject(error);
    }
    if (lock.queue.length === 0 && this.#canEnter(lock, exclusive)) return Promise.resolve(this.#enter(name, lock, exclusive, options.owner));

    let told = false;
    const tell = (): void => {
      told = true;
      options.onWait(busyMessage(lock, options.owner, exclusive));
    };
    // A Tentacle's first look at the lock ends (and says it is busy) before it notices the cancel or timeout.
    const failing = (error: Error): Error => {
      if (!told) tell();
      return error;
    };
    const ms = options.timeoutMs > 0 ? Math.min(options.timeoutMs, MAX_TIMER_MS) : undefined;
    return withDeadline<Release>(
      {
        timeoutMs: ms,
        expired: () => failing(new MutexTimeoutError(name, ms ?? 0, timedOutMessage(lock, options.owner, ms ?? 0))),
        // The signal's reason is the caller's; what the waiting script is told is that its turn was cancelled.
        aborted: () => failing(new MutexCanceledError(name, canceledMessage(lock, options.owner))),
        unref: true,
      },
      options.signal,
      (settle) => {
        const waiter: Waiter = {
          exclusive,
          owner: options.owner,
          grant: () => settle.resolve(this.#enter(name, lock, exclusive, options.owner)),
        };
        lock.queue.push(waiter);
        // Not a deadline: the busy message is repeated while the wait lasts, as a Tentacle repeats it.
        let busy: NodeJS.Timeout | undefined;
        const tellBusy = (after: number): void => {
          busy = setTimeout(() => {
            tell();
            tellBusy(LATER_WAIT_MESSAGE_MS);
          }, after);
          busy.unref();
        };
        tellBusy(FIRST_WAIT_MESSAGE_MS);
        return (failure) => {
          clearTimeout(busy);
          if (failure === undefined) return;
          const at = lock.queue.indexOf(waiter);
          if (at >= 0) lock.queue.splice(at, 1);
          // The one that left may have been what held back those behind it.
          this.#pump(name, lock);
        };
      },
    );
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

/** The tasks holding the lock as a Tentacle lists them: markdown links to each task, "This Task" for the asker. */
function holders(lock: Lock, owner: string): { text: string; multiple: boolean; mine: boolean } {
  const link = (task: string): string => `[${task}](~/app#/tasks/${task})`;
  if (lock.writer !== undefined) return { text: link(lock.writer.owner), multiple: false, mine: lock.writer.owner === owner };
  const tasks = [...new Set(lock.readers.values())].sort();
  if (tasks.length === 0) return { text: '(error - task not found)', multiple: false, mine: false };
  return { text: readableJoin(tasks.map((t) => (t === owner ? 'This Task' : link(t)))), multiple: tasks.length > 1, mine: tasks.includes(owner) };
}

/** "a", "a and b", "a, b and c". */
function readableJoin(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]!}`;
}

/** The wait message, worded as a Tentacle words it ("this" script when the waiter wants full isolation). */
function busyMessage(lock: Lock, owner: string, exclusive: boolean): string {
  const { text, multiple, mine } = holders(lock, owner);
  const tail = 'requires that no other Octopus scripts are executing on this target at the same time.';
  if (multiple) return `Waiting on scripts in tasks ${text} to finish. This script ${tail}`;
  if (mine) return `Waiting on another script in this task to finish as ${exclusive ? 'this' : 'another'} task ${tail}`;
  return `Waiting for the script in task ${text} to finish as ${exclusive ? 'this' : 'that'} script ${tail}`;
}

function canceledMessage(lock: Lock, owner: string): string {
  const { text, multiple } = holders(lock, owner);
  return multiple ? `This task was canceled before it could start. Tasks ${text} are still running.` : `This task was canceled before it could start. Task ${text} is still running.`;
}

function timedOutMessage(lock: Lock, owner: string, timeoutMs: number): string {
  const { text, multiple } = holders(lock, owner);
  const minutes = Math.round(timeoutMs / 60_000).toLocaleString('en-US');
  return multiple
    ? `This task waited more than ${minutes} minutes and timed out. Tasks ${text} are still running.`
    : `This task waited more than ${minutes} minutes and timed out. Task ${text} is still running.`;
}
