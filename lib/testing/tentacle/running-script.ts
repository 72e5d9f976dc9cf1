/**
 * One script's life on the agent, as a Tentacle's RunningScript lives it: Pending while its workspace is prepared
 * and it waits for its isolation mutex, Running once it holds the mutex, Complete with an exit code after. Its log
 * starts with the mutex preamble a Tentacle writes and ends with the process's exit line, and is also written to
 * `Output.log` in the workspace (V2 scripts keep a `scriptstate.json` there too).
 *
 * A cancel kills the whole process tree; the script then reports −1 with the debug lines a Tentacle's process
 * runner writes when its reads are cancelled. A cancel while waiting for the mutex reports −43.
 */
import type { WriteStream } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  DEFAULT_MUTEX_NAME,
  ProcessOutputSource,
  ProcessState,
  ScriptExitCodes,
  ScriptIsolationLevel,
  type ScriptStatusResponse,
  type StartScriptFields,
} from '../../contracts/index.js';
import { MutexCanceledError, MutexTimeoutError, type IsolationMutexes, type Release } from './isolation-mutex.js';
import { ScriptLog } from './script-log.js';
import { startScriptProcess, type ScriptProcess } from './script-process.js';
import type { ReleaseSlot, ScriptSlots } from './script-slots.js';
import { prepareWorkspace, type ScriptInvocation } from './workspace.js';

/** What a Tentacle reports for a script whose process it killed on cancel. */
export const CANCELLED_PROCESS_EXIT_CODE = -1;

/** The debug lines a Tentacle's process runner writes when a running script is cancelled. */
export const CANCEL_DEBUG_LINES: readonly string[] = [
  'Swallowing InvalidOperationException calling CancelErrorRead.',
  'Swallowing InvalidOperationException calling CancelOutputRead.',
  'Swallowing OperationCanceledException while waiting for last of the process output.',
];

const SOURCE_NAMES: Record<ProcessOutputSource, string> = { [ProcessOutputSource.StdOut]: 'StdOut', [ProcessOutputSource.StdErr]: 'StdErr', [ProcessOutputSource.Debug]: 'Debug' };
const STATE_NAMES: Record<ProcessState, string> = { [ProcessState.Pending]: 'Pending', [ProcessState.Running]: 'Running', [ProcessState.Complete]: 'Complete' };

export interface RunningScriptOptions {
  /** The ticket as the client spelled it. */
  ticket: string;
  /** The server task, shown in mutex messages. */
  taskId: string;
  workspace: string;
  command: StartScriptFields;
  /** The shell for bash scripts. */
  shell: string;
  env: NodeJS.ProcessEnv;
  mutexes: IsolationMutexes;
  /** The cap on scripts running at once. */
  slots: ScriptSlots;
  /** Marks this script's processes, so that all of them can be found and killed. */
  marker: string;
  /** Write script files where their names point, even outside the workspace. */
  allowScriptFilesOutsideWorkspace: boolean;
  /** Keep a `scriptstate.json` in the workspace (IScriptServiceV2 does). */
  keepScriptState: boolean;
}

export class RunningScript {
  readonly ticket: string;
  readonly workspace: string;
  readonly log = new ScriptLog();
  readonly #options: RunningScriptOptions;
  readonly #abort = new AbortController();
  #state: ProcessState = ProcessState.Pending;
  #exitCode: number = ScriptExitCodes.Running;
  #process: ScriptProcess | undefined;
  #outputLog: WriteStream | undefined;
  readonly #created = new Date();
  #started: Date | undefined;
  #markComplete: () => void = () => undefined;
  /** Settles once the state is Complete, whatever the outcome. */
  readonly completed: Promise<void>;

  constructor(options: RunningScriptOptions) {
    this.#options = options;
    this.ticket = options.ticket;
    this.workspace = options.workspace;
    this.completed = new Promise<void>((resolve) => (this.#markComplete = resolve));
  }

  get state(): ProcessState {
    return this.#state;
  }

  /** The process, once started (its pid is also its process group id). */
  get process(): ScriptProcess | undefined {
    return this.#process;
  }

  /**
   * Prepares the workspace, reading the command's files from the request, then runs the script in the background.
   * Rejects, with the script marked Complete, when the workspace cannot be prepared.
   */
  async start(): Promise<void> {
    let invocation: ScriptInvocation;
    try {
      invocation = await prepareWorkspace(this.workspace, this.#options.command, {
        bash: this.#options.shell,
        allowScriptFilesOutsideWorkspace: this.#options.allowScriptFilesOutsideWorkspace,
      });
      await this.#saveState();
      await this.#mirrorLog();
    } catch (error) {
      this.log.stderr(`The script's workspace could not be prepared: ${(error as Error).message}`);
      this.#complete(ScriptExitCodes.Fatal);
      throw error;
    }
    void this.#run(invocation);
  }

  /**
   * Cancels: a script waiting for its mutex gives up (exit code −43); a running one has its whole process tree
   * killed and reports −1. Returns once the kill has been sent, not when the script is Complete.
   */
  async cancel(): Promise<void> {
    this.#abort.abort();
    if (this.#state !== ProcessState.Complete) await this.#process?.killTree();
  }

  /** Waits until the script is Complete or `ms` have passed, whichever is first. */
  async waitForCompletion(ms: number): Promise<void> {
    if (this.#state === ProcessState.Complete || ms <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      // setTimeout fires at once for more than 2^31 − 1 ms; a wait that long is a wait for ever anyway.
      timer = setTimeout(resolve, Math.min(ms, 2 ** 31 - 1));
      timer.unref();
    });
    try {
      await Promise.race([this.completed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The status, with the log records after `lastLogSequence`. */
  status(lastLogSequence: number): ScriptStatusResponse {
    // Read the state before the log: a record appended in between is then sent next time, never lost.
    const State = this.#state;
    const ExitCode = State === ProcessState.Complete ? this.#exitCode : ScriptExitCodes.Running;
    const page = this.log.after(lastLogSequence);
    return { Ticket: { TaskId: this.ticket }, Logs: page.logs, NextLogSequence: page.next, State, ExitCode };
  }

  async #run(invocation: ScriptInvocation): Promise<void> {
    const { command, taskId, mutexes, slots } = this.#options;
    const log = this.log;
    const name = command.IsolationMutexName ?? DEFAULT_MUTEX_NAME;
    const level = command.Isolation === ScriptIsolationLevel.FullIsolation ? 'FullIsolation' : 'NoIsolation';
    const waitMessage = (message: string): void => {
      log.stdout('##octopus[stdout-wait]');
      log.stdout(message);
      log.stdout('##octopus[stdout-default]');
    };
    log.stdout('##octopus[stdout-verbose]');
    log.stdout(`Acquiring isolation mutex ${name} with ${level} in ${taskId}`);
    log.stdout('##octopus[stdout-default]');
    let release: Release;
    try {
      release = await mutexes.acquire(name, command.Isolation, { owner: taskId, timeoutMs: command.ScriptIsolationMutexTimeout.milliseconds, signal: this.#abort.signal, onWait: waitMessage });
    } catch (error) {
      if (error instanceof MutexTimeoutError || error instanceof MutexCanceledError) log.stdout(error.logMessage);
      const timedOut = error instanceof MutexTimeoutError;
      log.stdout(timedOut ? 'Script execution timed out.' : 'Script execution canceled.');
      await this.#finish(timedOut ? ScriptExitCodes.Timeout : ScriptExitCodes.Canceled);
      return;
    }
    let releaseSlot: ReleaseSlot | undefined;
    try {
      // The agent's own cap (none unless configured), waited for like a mutex.
      if (slots.full) waitMessage(`Waiting for a script to finish: this agent runs at most ${slots.limit} scripts at the same time.`);
      releaseSlot = await slots.take(this.#abort.signal).catch(() => undefined);
      if (releaseSlot === undefined || this.#abort.signal.aborted) {
        log.stdout('Script execution canceled.');
        await this.#finish(ScriptExitCodes.Canceled);
        return;
      }
      this.#state = ProcessState.Running;
      this.#started = new Date();
      await this.#saveState();
      await this.#finish(await this.#execute(invocation));
    } catch (error) {
      // Nothing above should throw; if it does, report it the way a Tentacle reports a failure around the script.
      log.stderr(`The script failed: ${(error as Error).message}`);
      await this.#finish(ScriptExitCodes.Fatal);
    } finally {
      releaseSlot?.();
      release();
    }
  }

  async #execute({ executable, args }: ScriptInvocation): Promise<number> {
    const log = this.log;
    log.debug(`Executable directory is ${dirname(executable)}`);
    log.debug(`Executable name or full path: ${executable}`);
    log.debug(`Starting ${executable} in working directory '${this.workspace}' using 'Unicode (UTF-8)' encoding running as '${runningAs()}'`);
    let proc: ScriptProcess;
    try {
      proc = await startScriptProcess({
        executable,
        args,
        cwd: this.workspace,
        env: this.#options.env,
        marker: this.#options.marker,
        onStdout: (line) => log.stdout(line),
        onStderr: (line) => log.stderr(line),
      });
    } catch (error) {
      log.stderr(`An exception was thrown when invoking ${executable}: ${(error as Error).message}`);
      return ScriptExitCodes.PowerShellInvocationError;
    }
    this.#process = proc;
    // A cancel that arrived while the process was being started.
    if (this.#abort.signal.aborted) void proc.killTree();
    let code = await proc.exited;
    if (this.#abort.signal.aborted) {
      for (const line of CANCEL_DEBUG_LINES) log.debug(line);
      code = CANCELLED_PROCESS_EXIT_CODE;
    }
    log.debug(`Process ${executable} in ${this.workspace} exited with code ${code}`);
    return code;
  }

  /** Copies every log record, from the first, to `Output.log` in the workspace, as a Tentacle keeps its log there. */
  async #mirrorLog(): Promise<void> {
    // Opened before the script starts, so that the script sees it in its directory.
    const out = (await open(join(this.workspace, 'Output.log'), 'w')).createWriteStream();
    // The workspace may be deleted under a running script (CompleteScript does that); the log lives on in memory.
    out.on('error', () => undefined);
    this.#outputLog = out;
    this.log.onRecord = (source, occurred, text) => {
      out.write(`${new Date(occurred).toISOString()} ${SOURCE_NAMES[source]} ${text}\n`);
    };
  }

  async #saveState(complete = false): Promise<void> {
    if (!this.#options.keepScriptState) return;
    const state = {
      Created: this.#created.toISOString(),
      Started: this.#started?.toISOString() ?? null,
      Completed: complete ? new Date().toISOString() : null,
      State: STATE_NAMES[complete ? ProcessState.Complete : this.#state],
      ExitCode: complete ? this.#exitCode : null,
    };
    await writeFile(join(this.workspace, 'scriptstate.json'), JSON.stringify(state), 'utf8').catch(() => undefined);
  }

  /** Records the outcome on disk first, so that nothing writes to the workspace once a client sees Complete. */
  async #finish(exitCode: number): Promise<void> {
    if (this.#state === ProcessState.Complete) return;
    this.#exitCode = exitCode;
    await this.#saveState(true);
    this.log.onRecord = undefined;
    // Flushed before a client can see Complete (and delete the workspace).
    const out = this.#outputLog;
    if (out !== undefined) await finished(out.end()).catch(() => undefined);
    this.#complete(exitCode);
  }

  #complete(exitCode: number): void {
    if (this.#state === ProcessState.Complete) return;
    this.#exitCode = exitCode;
    this.#state = ProcessState.Complete;
    this.#markComplete();
  }
}

let user: string | undefined;
/** The account scripts run as, as a Tentacle names it in its start line. */
function runningAs(): string {
  if (user === undefined) {
    try {
      user = userInfo().username;
    } catch {
      user = basename(process.env['HOME'] ?? 'unknown');
    }
  }
  return user;
}
