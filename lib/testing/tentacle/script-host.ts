/**
 * The scripts an agent knows about, shared by the V1 and V2 script services (as in a Tentacle, both draw on one set
 * of isolation mutexes). Tickets compare without regard to case, as `ScriptTicket` equality does in .NET.
 */
import type { StartScriptFields } from '../../contracts/index.js';
import { IsolationMutexes } from './isolation-mutex.js';
import { RunningScript } from './running-script.js';
import type { ScriptProcess } from './script-process.js';
import { deleteWorkspace, scriptFilePaths, workspacePath } from './workspace.js';

/** How long cancelling (or completing a still-running script) waits for the killed process to be gone. */
export const KILL_WAIT_MS = 5000;

export interface ScriptHostOptions {
  workRoot: string;
  shell: string;
  env: NodeJS.ProcessEnv;
}

export interface StartedScript {
  script: RunningScript;
  /** False when the ticket was already known: nothing new was started. */
  isNew: boolean;
  /** Settles when the workspace is ready (rejects if it could not be prepared). */
  ready: Promise<void>;
}

export class ScriptHost {
  readonly workRoot: string;
  readonly #options: ScriptHostOptions;
  readonly #scripts = new Map<string, { script: RunningScript; ready: Promise<void> }>();
  readonly #mutexes = new IsolationMutexes();
  /** Every script not yet known to be over, including forgotten ones, so that dispose can wait for them. */
  readonly #live = new Set<RunningScript>();
  /** Processes that exited but left members in their process group. */
  readonly #leftovers = new Set<ScriptProcess>();
  #started = 0;
  #disposed: Promise<void> | undefined;

  constructor(options: ScriptHostOptions) {
    this.#options = options;
    this.workRoot = options.workRoot;
  }

  get started(): number {
    return this.#started;
  }

  find(ticket: string): RunningScript | undefined {
    return this.#scripts.get(ticket.toLowerCase())?.script;
  }

  /**
   * Starts a script under `ticket` unless that ticket is already known, in which case the known script is returned
   * and nothing is started. The ticket is taken synchronously, so concurrent starts of one ticket start one script.
   */
  start(ticket: string, taskId: string, command: StartScriptFields): StartedScript {
    if (this.#disposed !== undefined) throw new Error('These Tentacle services have been disposed; no more scripts can be started');
    const key = ticket.toLowerCase();
    const known = this.#scripts.get(key);
    if (known !== undefined) return { ...known, isNew: false };
    const workspace = workspacePath(this.workRoot, ticket);
    // Refuse bad file names before the ticket is taken, so that a corrected retry can use it.
    scriptFilePaths(workspace, command.Files);
    const script = new RunningScript({ ticket, taskId, workspace, command, shell: this.#options.shell, env: this.#options.env, mutexes: this.#mutexes });
    const ready = script.start().catch(async (error: unknown) => {
      if (this.#scripts.get(key)?.script === script) this.#scripts.delete(key);
      await deleteWorkspace(workspace).catch(() => undefined);
      throw error;
    });
    // The caller awaits `ready`; this copy only keeps an unobserved failure from being reported as unhandled.
    ready.catch(() => undefined);
    this.#scripts.set(key, { script, ready });
    this.#started++;
    this.#live.add(script);
    void script.completed.then(() => {
      this.#live.delete(script);
      if (script.process?.leftChildren === true) this.#leftovers.add(script.process);
    });
    return { script, ready, isNew: true };
  }

  /** Cancels a script and waits (briefly) for it to be Complete. */
  async cancel(script: RunningScript): Promise<void> {
    script.cancel();
    await script.waitForCompletion(KILL_WAIT_MS);
  }

  /**
   * Forgets a ticket and deletes its workspace. A script still running is killed first: its directory is about to
   * go, and nothing could ask about it any more.
   */
  async complete(ticket: string): Promise<void> {
    const key = ticket.toLowerCase();
    const known = this.#scripts.get(key);
    this.#scripts.delete(key);
    if (known !== undefined) {
      await known.ready.catch(() => undefined);
      await this.cancel(known.script);
      await deleteWorkspace(known.script.workspace);
      return;
    }
    // A Tentacle deletes the ticket's workspace even when it has no record of the ticket.
    let workspace: string;
    try {
      workspace = workspacePath(this.workRoot, ticket);
    } catch {
      return;
    }
    await deleteWorkspace(workspace);
  }

  /** Kills every script's process group, waits for them all to be over, and refuses new scripts. Idempotent. */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      const live = [...this.#live];
      for (const script of live) script.cancel();
      await Promise.all(live.map((s) => s.completed));
      for (const proc of this.#leftovers) proc.killGroup();
      this.#leftovers.clear();
      this.#scripts.clear();
    })();
    return this.#disposed;
  }
}
