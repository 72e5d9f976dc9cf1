/**
 * One script's life on the agent, as a Tentacle's RunningScript lives it: Pending while its workspace is prepared
 * and it waits for its isolation mutex, Running while its process runs, Complete with an exit code after. Its log
 * starts with the mutex preamble a Tentacle writes and ends with the process's exit line.
 */
import { dirname } from 'node:path';
import {
  DEFAULT_MUTEX_NAME,
  ProcessState,
  ScriptExitCodes,
  ScriptIsolationLevel,
  type ScriptStatusResponse,
  type StartScriptFields,
} from '../../contracts/index.js';
import { MutexTimeoutError, type IsolationMutexes, type Release } from './isolation-mutex.js';
import { ScriptLog } from './script-log.js';
import { startScriptProcess, type ScriptProcess } from './script-process.js';
import { prepareWorkspace, type ScriptInvocation } from './workspace.js';

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
      invocation = await prepareWorkspace(this.workspace, this.#options.command, this.#options.shell);
    } catch (error) {
      this.log.stderr(`The script's workspace could not be prepared: ${(error as Error).message}`);
      this.#complete(ScriptExitCodes.Fatal);
      throw error;
    }
    void this.#run(invocation);
  }

  /**
   * Cancels: a script waiting for its mutex gives up (exit code −43); a running one has its whole process group
   * killed, and reports what the killed shell reports (137).
   */
  cancel(): void {
    this.#abort.abort();
    if (this.#state !== ProcessState.Complete) this.#process?.killGroup();
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
    const { command, taskId, mutexes } = this.#options;
    const log = this.log;
    const name = command.IsolationMutexName ?? DEFAULT_MUTEX_NAME;
    const level = command.Isolation === ScriptIsolationLevel.FullIsolation ? 'FullIsolation' : 'NoIsolation';
    log.stdout('##octopus[stdout-verbose]');
    log.stdout(`Acquiring isolation mutex ${name} with ${level} in ${taskId}`);
    log.stdout('##octopus[stdout-default]');
    let release: Release;
    try {
      release = await mutexes.acquire(name, command.Isolation, {
        owner: taskId,
        // "00:00:00" means no limit, for compatibility with servers that never set it.
        timeoutMs: command.ScriptIsolationMutexTimeout.milliseconds,
        signal: this.#abort.signal,
        onWait: (message) => {
          log.stdout('##octopus[stdout-wait]');
          log.stdout(message);
          log.stdout('##octopus[stdout-default]');
        },
      });
    } catch (error) {
      const timedOut = error instanceof MutexTimeoutError;
      log.stdout(timedOut ? 'Script execution timed out.' : 'Script execution canceled.');
      this.#complete(timedOut ? ScriptExitCodes.Timeout : ScriptExitCodes.Canceled);
      return;
    }
    try {
      if (this.#abort.signal.aborted) {
        log.stdout('Script execution canceled.');
        this.#complete(ScriptExitCodes.Canceled);
        return;
      }
      this.#complete(await this.#execute(invocation));
    } catch (error) {
      // Nothing above should throw; if it does, report it the way a Tentacle reports a failure around the script.
      log.stderr(`The script failed: ${(error as Error).message}`);
      this.#complete(ScriptExitCodes.Fatal);
    } finally {
      release();
    }
  }

  async #execute({ executable, args }: ScriptInvocation): Promise<number> {
    const log = this.log;
    log.debug(`Executable directory is ${dirname(executable)}`);
    log.debug(`Starting ${executable} in working directory '${this.workspace}'`);
    let proc: ScriptProcess;
    try {
      proc = await startScriptProcess({
        executable,
        args,
        cwd: this.workspace,
        env: this.#options.env,
        onStdout: (line) => log.stdout(line),
        onStderr: (line) => log.stderr(line),
      });
    } catch (error) {
      log.stderr(`An exception was thrown when invoking ${executable}: ${(error as Error).message}`);
      return ScriptExitCodes.PowerShellInvocationError;
    }
    this.#process = proc;
    this.#state = ProcessState.Running;
    // A cancel that arrived while the process was being started.
    if (this.#abort.signal.aborted) proc.killGroup();
    const code = await proc.exited;
    log.debug(`Process ${executable} in ${this.workspace} exited with code ${code}`);
    return code;
  }

  #complete(exitCode: number): void {
    if (this.#state === ProcessState.Complete) return;
    this.#exitCode = exitCode;
    this.#state = ProcessState.Complete;
    this.#markComplete();
  }
}
