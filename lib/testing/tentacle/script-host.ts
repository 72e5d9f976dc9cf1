/**
 * The scripts one script service knows about. As in a Tentacle, IScriptService and IScriptServiceV2 each keep their
 * own tickets (a V1 ticket is unknown to V2 and the other way round) but draw on one set of isolation mutexes.
 * Tickets compare without regard to case, as `ScriptTicket` equality does in .NET.
 */
import { randomUUID } from 'node:crypto';
import type { ScriptStatusResponse, StartScriptFields } from '../../contracts/index.js';
import { IsolationMutexes } from './isolation-mutex.js';
import { RunningScript } from './running-script.js';
import { killMarked } from './script-process.js';
import { ScriptSlots } from './script-slots.js';
import { deleteWorkspace, scriptFilePaths, workspacePath } from './workspace.js';

/** What the script services of one agent share. */
export class ScriptRuntime {
  readonly mutexes = new IsolationMutexes();
  readonly slots: ScriptSlots;
  /** Prefix of the marker every script process of this agent carries. */
  readonly agentId = randomUUID();
  /** Scripts not yet known to be over, including forgotten ones, so that dispose can stop them. */
  readonly live = new Set<RunningScript>();
  started = 0;
  /** Starts per ticket (lower-cased, as tickets compare), both services together: what `startsOf` reports. */
  readonly startsByTicket = new Map<string, number>();
  disposed: Promise<void> | undefined;

  constructor(maxConcurrentScripts: number) {
    this.slots = new ScriptSlots(maxConcurrentScripts);
  }

  /**
   * Kills every script still running (process trees), waits for them to be over, then kills whatever any of them
   * left behind (a daemon that detached from its output), and refuses new scripts. Idempotent.
   */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      const live = [...this.live];
      await Promise.all(live.map((s) => s.cancel()));
      await Promise.all(live.map((s) => s.completed));
      await killMarked(() => undefined, (marker) => marker.startsWith(`${this.agentId}:`));
    })();
    return this.disposed;
  }
}

export interface ScriptHostOptions {
  workRoot: string;
  shell: string;
  env: NodeJS.ProcessEnv;
  runtime: ScriptRuntime;
  /** Write script files where their names point, even outside the workspace. */
  allowScriptFilesOutsideWorkspace: boolean;
  /** Keep a `scriptstate.json` in each workspace (V2). */
  keepScriptState: boolean;
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
  readonly #runtime: ScriptRuntime;
  readonly #scripts = new Map<string, { script: RunningScript; ready: Promise<void> }>();

  constructor(options: ScriptHostOptions) {
    this.#options = options;
    this.#runtime = options.runtime;
    this.workRoot = options.workRoot;
  }

  find(ticket: string): RunningScript | undefined {
    return this.#scripts.get(ticket.toLowerCase())?.script;
  }

  /**
   * Starts a script under `ticket` unless that ticket is already known, in which case the known script is returned
   * and nothing is started. The ticket is taken synchronously, so concurrent starts of one ticket start one script.
   */
  start(ticket: string, taskId: string, command: StartScriptFields): StartedScript {
    const runtime = this.#runtime;
    if (runtime.disposed !== undefined) throw new Error('These Tentacle services have been disposed; no more scripts can be started');
    const key = ticket.toLowerCase();
    const known = this.#scripts.get(key);
    if (known !== undefined) return { ...known, isNew: false };
    const workspace = workspacePath(this.workRoot, ticket);
    // Refuse bad file names before the ticket is taken, so that a corrected retry can use it.
    scriptFilePaths(workspace, command.Files, this.#options.allowScriptFilesOutsideWorkspace);
    const script = new RunningScript({
      ticket,
      taskId,
      workspace,
      command,
      shell: this.#options.shell,
      env: this.#options.env,
      mutexes: runtime.mutexes,
      slots: runtime.slots,
      marker: `${runtime.agentId}:${runtime.started + 1}`,
      allowScriptFilesOutsideWorkspace: this.#options.allowScriptFilesOutsideWorkspace,
      keepScriptState: this.#options.keepScriptState,
    });
    const ready = script.start().catch(async (error: unknown) => {
      if (this.#scripts.get(key)?.script === script) this.#scripts.delete(key);
      await deleteWorkspace(workspace).catch(() => undefined);
      throw error;
    });
    // The caller awaits `ready`; this copy only keeps an unobserved failure from being reported as unhandled.
    ready.catch(() => undefined);
    this.#scripts.set(key, { script, ready });
    runtime.started++;
    runtime.startsByTicket.set(key, (runtime.startsByTicket.get(key) ?? 0) + 1);
    runtime.live.add(script);
    void script.completed.then(() => runtime.live.delete(script));
    return { script, ready, isNew: true };
  }

  /**
   * Cancels a script as a Tentacle does: answers at once with the status as it was (Pending or Running, exit code
   * 0), while the kill goes on; the script reports Complete (−1, or −43 if it was waiting) a moment later.
   */
  cancel(script: RunningScript, lastLogSequence: number): ScriptStatusResponse {
    const answer = script.status(lastLogSequence);
    script.cancel().catch(() => undefined);
    return answer;
  }

  /**
   * Forgets a ticket and deletes its workspace. As on a Tentacle, a script still running is not stopped: it goes on
   * without its directory (until it ends, or the agent is closed).
   */
  async complete(ticket: string): Promise<void> {
    const key = ticket.toLowerCase();
    const known = this.#scripts.get(key);
    this.#scripts.delete(key);
    if (known !== undefined) {
      await known.ready.catch(() => undefined);
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
}
