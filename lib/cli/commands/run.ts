/**
 * `halibut run <url> SCRIPT_FILE [-- args...]`: runs a script on the agent through the Tentacle script service and
 * streams its output as it arrives, then exits with the script's exit code, so that it fits in a shell pipeline as
 * if the script had run here.
 */
import { readFile } from 'node:fs/promises';
import { DataStream, ScriptExitCodes, TentacleClient, type LogLine, type RunScriptOptions, type ScriptFileInput, type ScriptResult } from '../../index.js';
import { flag, millisecondsValue, requirePositionals, stringList, stringValue, type Command, type OptionValues } from '../command.js';
import { AGENT_HELP, agentOptions, attemptsHelp, attemptsOption, CERTIFICATE_HELP, certificateOptions, connectToAgent } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { toJsonLine } from '../json-output.js';
import { terminalSafe } from '../terminal-text.js';
import { addAbortListener } from '../../util/abort.js';

/** One `--json` line per log line. */
export interface RunLogRecord {
  type: 'log';
  source: LogLine['source'];
  text: string;
  time: Date;
  /** `verbose` and `wait` mark Tentacle's own messages about the isolation mutex; the script's lines are `default`. */
  level: LogLine['level'];
}

/** The last `--json` line of a run that ended (a failure prints `{ type: 'error', ok: false, error }` instead). */
export interface RunResultRecord {
  type: 'result';
  /** Exit code 0 and not cancelled. */
  ok: boolean;
  /** As the agent reported it, before {@link shellExitCode}. */
  exitCode: number;
  cancelled: boolean;
  ticket: string;
  service: ScriptResult['service'];
}

/**
 * Tentacle's own exit codes (never a script's: a process cannot exit with a negative code on Linux, and Tentacle
 * reserves these), for the note printed when one comes back.
 */
const TENTACLE_EXIT_CODES: ReadonlyMap<number, string> = new Map([
  [ScriptExitCodes.Fatal, 'Tentacle failed around the script (e.g. could not write its log)'],
  [ScriptExitCodes.PowerShellInvocationError, 'the shell could not be started'],
  [ScriptExitCodes.Canceled, 'cancelled while waiting for the isolation mutex'],
  [ScriptExitCodes.Timeout, 'the isolation mutex was not acquired in time'],
  [ScriptExitCodes.UnknownScript, 'the agent does not know the script'],
  [ScriptExitCodes.UnknownResult, 'the agent lost track of the script (e.g. it restarted while the script ran)'],
  [ScriptExitCodes.PowerShellNeverStarted, 'PowerShell never started'],
  [ScriptExitCodes.KubernetesScriptPodNotFound, "the Kubernetes agent's script pod is gone"],
]);

/**
 * The exit code this process ends with for a script's `exitCode`: 0–255 as they are; Tentacle's own negative codes
 * become 1 (a failure that is not the script's); codes above 255, which only Windows produces, become 255, so that
 * a failure never wraps round to 0 as `code % 256` could.
 */
export function shellExitCode(exitCode: number): number {
  if (exitCode < 0) return ExitCode.failed;
  return Math.min(exitCode, 255);
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a script on an agent, streaming its output; exits with its exit code',
  jsonLines: true,
  options: {
    ...certificateOptions,
    ...agentOptions,
    ...attemptsOption,
    file: { type: 'string', multiple: true },
    isolation: { type: 'string' },
    mutex: { type: 'string' },
    'mutex-timeout': { type: 'string' },
    'script-timeout': { type: 'string' },
    powershell: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
  },
  help: `Usage: halibut run <url> SCRIPT_FILE [options] [-- ARGS...] -t THUMBPRINT (--cert FILE --key FILE | --pfx FILE)

Runs the script in SCRIPT_FILE on the agent, in a fresh working directory there, and streams its output as it
arrives: the script's standard output to standard output, its standard error to standard error. The agent's own
lines go to standard error: those about waiting for the isolation mutex always, diagnostic and verbose ones only
with --verbose. Arguments after -- are passed to the script as given. It uses IScriptServiceV2 when the agent
lists it (see 'halibut capabilities'), else IScriptService.

Ctrl-C cancels the script on the agent, waits until the agent has stopped it and removed its working directory,
and exits with 130. A second Ctrl-C leaves at once, without waiting (the agent still stops the script).
Standard output closing under it (| head -1) cancels the script the same way and exits with 141.

Script:
  --powershell         the script is PowerShell (default: bash)
  --file NAME=PATH     put the local file PATH into the working directory as NAME (repeatable)
  --isolation full|none
                       full: wait until no other script holds the mutex; none (default): only wait for
                       scripts running with full isolation
  --mutex NAME         the isolation mutex (default RunningScript, the one Octopus uses agent-wide)
  --mutex-timeout MS   give up waiting for the mutex after MS (the script then exits -44, shown as 1)
  --script-timeout MS  cancel the script on the agent if it runs longer than MS; exits 1
  -v, --verbose        also print the agent's diagnostic and verbose lines (e.g. about the isolation mutex),
                       and the ticket and exit code at the end

${CERTIFICATE_HELP}

${AGENT_HELP}
${attemptsHelp(5)}
  --json               print one line per output line (all of them),
                         { "type": "log", "source": "stdout" | "stderr" | "debug", "text", "time",
                           "level": "default" | "verbose" | "wait" }
                       then { "type": "result", "ok", "exitCode", "cancelled", "ticket", "service" };
                       a failure ends with { "type": "error", "ok": false, "error": {...} }

Exit codes: the script's own exit code, 0 to 255. Tentacle's own codes are negative (e.g. -44: the isolation
mutex timed out) and exit 1; codes above 255 (Windows) exit 255; either way a note on standard error gives the
real code. 1 also when the script could not be run or timed out; 2 usage error; 130 cancelled by Ctrl-C (or
SIGTERM); 141 cancelled because standard output was closed.

Examples:
  halibut run https://tentacle-01:10933/ deploy.sh --file app.tar.gz=./dist/app.tar.gz -- --env production
  halibut run https://tentacle-01:10933/ check.ps1 --powershell --json | jq -r 'select(.type=="log") | .text'`,
  async run(input, io) {
    const [url, scriptFile] = requirePositionals(input, ['<url>', 'SCRIPT_FILE'], 'run');
    const json = flag(input.values, 'json');
    const verbose = flag(input.values, 'verbose');
    const options = scriptOptions(input.values);
    // Local inputs first: a typo in a path should fail before anything happens on the agent.
    const body = await readFile(scriptFile!, 'utf8');
    const files = scriptFiles(stringList(input.values, 'file'));
    const { client, endpoint } = await connectToAgent(url!, input.values, io.env, 'run', { attempts: 5 });
    const onInterrupt = (): void => io.err('cancelling the script on the agent… (Ctrl-C again to leave without waiting)\n');
    const interruptListener = addAbortListener(io.interrupted, onInterrupt);
    try {
      const run = new TentacleClient(client).runScript(endpoint, { ...options, body, files, arguments: input.rest, signal: io.interrupted });
      // Iterating ends early if the run fails; the failure is then reported once, from awaiting the result.
      run.result.catch(() => undefined);
      try {
        for await (const line of run) printLine(line, io, json, verbose);
      } catch {
        // The same failure rejects `run.result`, awaited next.
      }
      const result = await run.result;
      return finish(result, io, json, verbose);
    } finally {
      interruptListener[Symbol.dispose]();
      await client.close();
    }
  },
};

function scriptOptions(values: OptionValues): Omit<RunScriptOptions, 'body'> {
  const options: Omit<RunScriptOptions, 'body'> = { syntax: flag(values, 'powershell') ? 'powershell' : 'bash' };
  const isolation = stringValue(values, 'isolation');
  if (isolation !== undefined) {
    if (isolation !== 'full' && isolation !== 'none') throw new UsageError(`--isolation must be full or none (got '${isolation}')`, 'run');
    options.isolation = isolation;
  }
  const mutex = stringValue(values, 'mutex');
  if (mutex !== undefined) {
    if (mutex.trim() === '') throw new UsageError('--mutex needs a name', 'run');
    options.mutexName = mutex;
  }
  if (stringValue(values, 'mutex-timeout') !== undefined) options.mutexTimeoutMs = millisecondsValue(values, 'mutex-timeout', 0, 'run');
  if (stringValue(values, 'script-timeout') !== undefined) options.timeoutMs = millisecondsValue(values, 'script-timeout', 0, 'run');
  return options;
}

/** `--file NAME=PATH` values as files for the working directory, each read from disk when it is sent. */
function scriptFiles(specs: readonly string[]): ScriptFileInput[] {
  return specs.map((spec) => {
    const at = spec.indexOf('=');
    const name = at < 0 ? '' : spec.slice(0, at);
    const path = at < 0 ? '' : spec.slice(at + 1);
    if (name === '' || path === '') throw new UsageError(`--file takes NAME=LOCALPATH (got '${spec}')`, 'run');
    return { name, contents: DataStream.fromFile(path) };
  });
}

function printLine(line: LogLine, io: CliIo, json: boolean, verbose: boolean): void {
  if (json) {
    const record: RunLogRecord = { type: 'log', source: line.source, text: line.text, time: line.time, level: line.level };
    io.out(toJsonLine(record));
    return;
  }
  // Tentacle marks its own messages about the isolation mutex as verbose (Octopus hides them by default) and the
  // ones about waiting for it as wait: the first are noise unless something needs explaining, the second say why
  // nothing happens. Neither is the script's output, so neither goes to standard output.
  if (line.level === 'verbose' || line.source === 'debug') {
    if (verbose) io.err(`${line.source === 'debug' ? 'debug' : 'verbose'}: ${terminalSafe(line.text)}\n`);
  } else if (line.level === 'wait') {
    io.err(`waiting: ${terminalSafe(line.text)}\n`);
  } else if (line.source === 'stdout') {
    io.out(`${line.text}\n`);
  } else {
    io.err(`${line.text}\n`);
  }
}

function finish(result: ScriptResult, io: CliIo, json: boolean, verbose: boolean): number {
  if (json) {
    const record: RunResultRecord = { type: 'result', ok: result.exitCode === 0 && !result.cancelled, exitCode: result.exitCode, cancelled: result.cancelled, ticket: result.ticket, service: result.service };
    io.out(toJsonLine(record));
  }
  if (result.cancelled) {
    io.err(`cancelled: the script was stopped on the agent (it reported exit code ${result.exitCode})\n`);
    return ExitCode.interrupted;
  }
  const code = shellExitCode(result.exitCode);
  if (verbose) io.err(`script ${result.ticket} (${result.service}) exited with ${result.exitCode}\n`);
  if (code !== result.exitCode) {
    const meaning = TENTACLE_EXIT_CODES.get(result.exitCode);
    io.err(`note: exit code ${result.exitCode}${meaning === undefined ? '' : ` (${meaning})`} is shown as ${code}\n`);
  }
  return code;
}
