/**
 * `halibut run --targets FILE SCRIPT_FILE`: one script on every agent of a targets file, through the library's
 * `runScriptOnMany`. Each output line goes to the stream the script wrote it to, prefixed with its target's name;
 * the summary goes to standard error at the end, and the exit code is the worst of the targets'.
 */
import { readFile } from 'node:fs/promises';
import { TentacleClient, type TargetEvent } from '../index.js';
import { addAbortListener } from '../util/abort.js';
import { flag, stringList, type CommandInput } from './command.js';
import { clientFromOptions } from './connection-options.js';
import { explain } from './explain.js';
import { fleetHelp, readFleetInput } from './fleet-options.js';
import { fleetExitCode, summaryRecord, summaryText } from './fleet-summary.js';
import type { CliIo } from './io.js';
import { toJsonLine } from './json-output.js';
import { printScriptLine } from './script-lines.js';
import { scriptFiles, scriptOptions } from './script-options.js';
import { terminalSafe } from './terminal-text.js';

/** The part of `halibut run --help` about many agents. */
export const FLEET_RUN_HELP = `Many agents, with --targets FILE instead of <url> (each line of FILE has the agent's pin, so --thumbprint is
not used):
${fleetHelp('agents running the script').replace(/^Targets:\n/, '')}
  --fail-fast          the first agent that fails cancels the scripts still running and starts no more
Every output line is prefixed with [name], on the stream the script wrote it to; errors are printed as they
happen and a summary goes to standard error at the end. The exit code is the worst (highest) of the agents'
exit codes, an agent that could not run the script counting as 1. Ctrl-C cancels every running script on its
agent and waits for the cleanup (exit 130). A bad targets file is exit 2, before any agent is contacted.
--json adds "target" to every line, and "start" and "skipped" lines; the last is
{ "type": "summary", "ok", "exitCode", "succeeded", "failed", "cancelled", "skipped" }.`;

/** Runs the script in `scriptFile` on every target of `--targets`; resolves to the exit code. */
export async function runOnTargets(scriptFile: string, input: CommandInput, io: CliIo): Promise<number> {
  const { values } = input;
  const json = flag(values, 'json');
  const verbose = flag(values, 'verbose');
  // Everything local is checked before any agent is contacted: the file, the options, the script, our certificate.
  const { targets, concurrency } = await readFleetInput(values, 'run');
  const options = scriptOptions(values);
  const body = await readFile(scriptFile, 'utf8');
  const files = scriptFiles(stringList(values, 'file'));
  const client = await clientFromOptions(values, io.env, 'run', { attempts: 5 });
  const onInterrupt = (): void => io.err('cancelling the scripts on the agents… (Ctrl-C again to leave without waiting)\n');
  const interruptListener = addAbortListener(io.interrupted, onInterrupt);
  try {
    const run = new TentacleClient(client).runScriptOnMany(
      targets.map(({ name, url, thumbprint }) => ({ name, url, thumbprint })),
      { ...options, body, files, arguments: input.rest, concurrency, failFast: flag(values, 'fail-fast'), signal: io.interrupted },
    );
    for await (const event of run) {
      if (json) printJson(event, io);
      else printEvent(event, io, verbose);
    }
    const summary = await run;
    const code = fleetExitCode(summary, io.interrupted.aborted);
    if (json) io.out(toJsonLine(summaryRecord(summary, code)));
    else io.err(summaryText(summary));
    return code;
  } finally {
    interruptListener[Symbol.dispose]();
    await client.close();
  }
}

/** One event for people; the errors, which quote what agents said, are escaped. */
function printEvent(event: TargetEvent, io: CliIo, verbose: boolean): void {
  const prefix = `[${event.target}] `;
  switch (event.type) {
    case 'start':
      if (verbose) io.err(`${prefix}started\n`);
      return;
    case 'line':
      printScriptLine(event.line, io, verbose, prefix);
      return;
    case 'result':
      if (verbose) io.err(`${prefix}script ${event.result.ticket} (${event.result.service}) ${event.result.cancelled ? 'cancelled, ' : ''}exited with ${event.result.exitCode}\n`);
      return;
    case 'error': {
      const { code, message } = explain(event.error);
      io.err(`${prefix}error: ${terminalSafe(`${code}: ${message}`)}\n`);
      return;
    }
    case 'skipped':
      return;
  }
}

/** One event as a JSON line, each with its target. */
function printJson(event: TargetEvent, io: CliIo): void {
  const target = event.target;
  switch (event.type) {
    case 'start':
      io.out(toJsonLine({ type: 'start', target }));
      return;
    case 'line': {
      const { source, text, time, level } = event.line;
      io.out(toJsonLine({ type: 'log', target, source, text, time, level }));
      return;
    }
    case 'result': {
      const { exitCode, cancelled, ticket, service } = event.result;
      io.out(toJsonLine({ type: 'result', target, ok: event.status === 'succeeded', status: event.status, exitCode, cancelled, ticket, service }));
      return;
    }
    case 'error':
      io.out(toJsonLine({ type: 'error', target, ok: false, error: explain(event.error) }));
      return;
    case 'skipped':
      io.out(toJsonLine({ type: 'skipped', target, reason: event.reason }));
      return;
  }
}
