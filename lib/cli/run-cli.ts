/**
 * The `halibut` program: picks the command, parses its options, runs it, and turns whatever happened into output
 * and an exit code (see exit-codes.ts). Separate from main.ts so that it can run with a captured {@link CliIo}.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HalibutError } from '../index.js';
import type { Command, CommandInput, OptionSpecs } from './command.js';
import { closest } from './closest.js';
import { COMMANDS } from './commands/index.js';
import { TargetsFileError, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { explain } from './explain.js';
import type { CliIo } from './io.js';
import { toJsonLine } from './json-output.js';
import { terminalSafe } from './terminal-text.js';

/** The command line's documentation, shipped in the package: this file is in lib/cli or dist/cli, docs/ two levels up. */
const CLI_DOCS = fileURLToPath(new URL('../../docs/cli.md', import.meta.url));

const MAIN_HELP = `Usage: halibut <command> [options]

Talk to Octopus Deploy listening Tentacles (and any Halibut listening service).

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`).join('\n')}

Every command takes --help and --json. Certificates, the agent's thumbprint and the proxy can also come from the
environment: HALIBUT_CERT, HALIBUT_KEY, HALIBUT_KEY_PASSPHRASE, HALIBUT_PFX, HALIBUT_PFX_PASSWORD,
HALIBUT_THUMBPRINT, HALIBUT_PROXY. Options on the command line win. 'halibut agent' reads its own certificate
from HALIBUT_AGENT_CERT, HALIBUT_AGENT_KEY, HALIBUT_AGENT_PFX… instead, never the client's.

A fleet: 'health --targets FILE' and 'run --targets FILE SCRIPT_FILE' work on every agent listed in FILE, one
per line: name https://host:port/ THUMBPRINT (blank lines and # comments ignored).

Exit codes: 0 success, 1 the operation failed, 2 usage error (or a bad targets file), 130 interrupted (Ctrl-C);
run exits with the script's own code, run --targets with the worst of the agents' codes.
Documentation: ${CLI_DOCS}`;

/** Runs `halibut` with `argv` (without node and the script) and resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  let command: Command | undefined;
  try {
    const found = findCommand(argv);
    if (found === 'help') {
      io.out(`${MAIN_HELP}\n`);
      return ExitCode.ok;
    }
    if (found === 'version') {
      io.out(`${version()}\n`);
      return ExitCode.ok;
    }
    command = found.command;
    const input = parse(command, found.args);
    if (input === 'help') {
      io.out(`${command.help}\n`);
      return ExitCode.ok;
    }
    return await command.run(input, io);
  } catch (err) {
    // Our own usage errors keep their class and code; anything else that means the command line is wrong becomes one.
    const ownUsage = err instanceof UsageError || err instanceof TargetsFileError;
    const usage = ownUsage || isUsageLike(err);
    const code = io.interrupted.aborted ? ExitCode.interrupted : usage ? ExitCode.usage : ExitCode.failed;
    const explained = explain(ownUsage || !usage ? err : new UsageError((err as Error).message, command?.name));
    if (json) {
      io.out(toJsonLine(command?.jsonLines === true ? { type: 'error', ok: false, error: explained } : { ok: false, error: explained }));
    } else {
      // The message may quote the agent's own words: shown escaped, so that it cannot drive the terminal.
      io.err(`error: ${io.interrupted.aborted ? 'interrupted' : terminalSafe(explained.message)}\n`);
      if (explained.hint !== undefined && !io.interrupted.aborted) io.err(`fix: ${terminalSafe(explained.hint)}\n`);
    }
    return code;
  }
}

type Found = 'help' | 'version' | { command: Command; args: string[] };

function findCommand(argv: readonly string[]): Found {
  const [first, second, ...more] = argv;
  if (first === undefined || first === '--help' || first === '-h') return 'help';
  if (first === '--version' || first === '-V') return 'version';
  if (first === 'help') {
    if (second === undefined) return 'help';
    const named = lookup([second, ...more].filter((a) => !a.startsWith('-')).slice(0, 2));
    return { command: named.command, args: ['--help'] };
  }
  const named = lookup(argv);
  return { command: named.command, args: argv.slice(named.words) };
}

function lookup(words: readonly string[]): { command: Command; words: number } {
  const [first = '', second] = words;
  const two = COMMANDS.find((c) => c.name === `${first} ${second ?? ''}`);
  if (two !== undefined) return { command: two, words: 2 };
  const one = COMMANDS.find((c) => c.name === first);
  if (one !== undefined) return { command: one, words: 1 };
  const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
  if (group.length > 0) {
    throw new UsageError(
      second === undefined || second.startsWith('-')
        ? `'${first}' needs a subcommand: ${group.map((c) => c.name).join(', ')}`
        : `Unknown command '${first} ${second}' (try ${group.map((c) => c.name).join(', ')})`,
    );
  }
  throw new UsageError(`Unknown command '${first}'. Commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
}

function parse(command: Command, args: string[]): CommandInput | 'help' {
  const options: OptionSpecs = { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } };
  rejectUnknownOptions(command, options, args);
  const { values, positionals, tokens } = strictParse(command, options, args);
  if (values['help'] === true) return 'help';
  // Arguments after `--` belong to the command (e.g. the script's own arguments for `run`), not to us.
  const terminator = tokens.find((t) => t.kind === 'option-terminator');
  const before = terminator === undefined ? positionals : positionals.slice(0, tokens.filter((t) => t.kind === 'positional' && t.index < terminator.index).length);
  const rest = terminator === undefined ? [] : positionals.slice(before.length);
  return { values, positionals: before, rest };
}

function strictParse(command: Command, options: OptionSpecs, args: string[]) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    // parseArgs' own words for a missing or superfluous value are clear ("Option '--port <value>' argument
    // missing"); only the first sentence is kept, and the command is named for its --help.
    throw new UsageError(((err as Error).message.split(/\.\s/)[0] ?? '').replace(/\.$/, ''), command.name);
  }
}

/**
 * An option the command does not have: one clean line naming it, and the closest valid option when one is near
 * (parseArgs' own message adds advice about positionals starting with '-' that reads as noise here).
 */
function rejectUnknownOptions(command: Command, options: OptionSpecs, args: string[]): void {
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name in options) continue;
    const names = Object.entries(options).flatMap(([name, spec]) => (token.rawName.startsWith('--') || spec.short === undefined ? [`--${name}`] : [`--${name}`, `-${spec.short}`]));
    const suggestion = closest(token.rawName, names);
    throw new UsageError(`Unknown option '${token.rawName}'${suggestion === undefined ? '' : `; did you mean ${suggestion}?`}`, command.name);
  }
}

/**
 * parseArgs reports bad options as TypeErrors with an ERR_PARSE_ARGS_ code, and the library rejects malformed
 * input (an invalid URL or proxy) with a plain TypeError: both mean the command line is wrong.
 */
function isUsageLike(err: unknown): boolean {
  if (!(err instanceof TypeError)) return false;
  if (err instanceof HalibutError) return false;
  return true;
}

function version(): string {
  // Same relative path from lib/cli (tsx) and dist/cli (built).
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
