/**
 * `halibut run <url> SCRIPT_FILE [-- args...]`: runs a script on the agent through the Tentacle script service and
 * streams its output as it arrives, then exits with the script's exit code, so that it fits in a shell pipeline as
 * if the script had run here.
 */
import { readFile } from 'node:fs/promises';
import { TentacleClient, type LogLine, type ScriptResult } from '../../index.js';
import { flag, requirePositionals, stringList, stringValue, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, attemptsHelp, attemptsOption, CERTIFICATE_HELP, certificateOptions, connectToAgent } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { fleetOptions } from '../fleet-options.js';
import { FLEET_RUN_HELP, runOnTargets } from '../fleet-run.js';
import type { CliIo } from '../io.js';
import { toJsonLine } from '../json-output.js';
import { shellExitCode, tentacleExitCodeMeaning } from '../script-exit-codes.js';
import { printScriptLine } from '../script-lines.js';
import { scriptFiles, scriptOptions } from '../script-options.js';
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

export { shellExitCode };

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
    ...fleetOptions,
    'fail-fast': { type: 'boolean' },
  },
  help: `Usage: halibut run <url> SCRIPT_FILE [options] [-- ARGS...] -t THUMBPRINT (--cert FILE --key FILE | --pfx FILE)
       halibut run --targets FILE SCRIPT_FILE [options] [-- ARGS...] (--cert FILE --key FILE | --pfx FILE)

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

${FLEET_RUN_HELP}

Exit codes: the script's own exit code, 0 to 255. Tentacle's own codes are negative (e.g. -44: the isolation
mutex timed out) and exit 1; codes above 255 (Windows) exit 255; either way a note on standard error gives the
real code. 1 also when the script could not be run or timed out; 2 usage error; 130 cancelled by Ctrl-C (or
SIGTERM); 141 cancelled because standard output was closed.

Examples:
  halibut run https://tentacle-01:10933/ deploy.sh --file app.tar.gz=./dist/app.tar.gz -- --env production
  halibut run https://tentacle-01:10933/ check.ps1 --powershell --json | jq -r 'select(.type=="log") | .text'
  halibut run --targets fleet.txt restart.sh --concurrency 8 --fail-fast`,
  async run(input, io) {
    if (stringValue(input.values, 'targets') !== undefined) {
      const [scriptFile] = requirePositionals(input, ['SCRIPT_FILE'], 'run');
      return runOnTargets(scriptFile!, input, io);
    }
    for (const fleetOnly of ['concurrency', 'fail-fast']) {
      if (input.values[fleetOnly] !== undefined) throw new UsageError(`--${fleetOnly} goes with --targets FILE (a run on many agents)`, 'run');
    }
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

function printLine(line: LogLine, io: CliIo, json: boolean, verbose: boolean): void {
  if (json) {
    const record: RunLogRecord = { type: 'log', source: line.source, text: line.text, time: line.time, level: line.level };
    io.out(toJsonLine(record));
    return;
  }
  printScriptLine(line, io, verbose);
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
    const meaning = tentacleExitCodeMeaning(result.exitCode);
    io.err(`note: exit code ${result.exitCode}${meaning === undefined ? '' : ` (${meaning})`} is shown as ${code}\n`);
  }
  return code;
}
