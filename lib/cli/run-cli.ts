/**
 * The `halibut` program: picks the command, parses its options, runs it, and turns whatever happened into output
 * and an exit code (see exit-codes.ts). Separate from main.ts so that it can run with a captured {@link CliIo}.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HalibutError } from '../index.js';
import type { Command, CommandInput } from './command.js';
import { COMMANDS } from './commands/index.js';
import { UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { explain } from './explain.js';
import type { CliIo } from './io.js';
import { toJsonLine } from './json-output.js';

/** The command line's documentation, shipped in the package: this file is in lib/cli or dist/cli, docs/ two levels up. */
const CLI_DOCS = fileURLToPath(new URL('../../docs/cli.md', import.meta.url));

const MAIN_HELP = `Usage: halibut <command> [options]

Talk to Octopus Deploy listening Tentacles (and any Halibut listening service).

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`).join('\n')}

Every command takes --help and --json. Certificates, the agent's thumbprint and the proxy can also come from the
environment: HALIBUT_CERT, HALIBUT_KEY, HALIBUT_KEY_PASSPHRASE, HALIBUT_PFX, HALIBUT_PFX_PASSWORD,
HALIBUT_THUMBPRINT, HALIBUT_PROXY. Options on the command line win.

Exit codes: 0 success, 1 the operation failed, 2 usage error, 130 interrupted (Ctrl-C); run exits with the
script's own code.
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
    const usage = err instanceof UsageError || isUsageLike(err);
    const code = io.interrupted.aborted ? ExitCode.interrupted : usage ? ExitCode.usage : ExitCode.failed;
    const explained = explain(err instanceof UsageError || !usage ? err : new UsageError((err as Error).message, command?.name));
    if (json) {
      io.out(toJsonLine(command?.jsonLines === true ? { type: 'error', ok: false, error: explained } : { ok: false, error: explained }));
    } else {
      io.err(`error: ${io.interrupted.aborted ? 'interrupted' : explained.message}\n`);
      if (explained.hint !== undefined && !io.interrupted.aborted) io.err(`fix: ${explained.hint}\n`);
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
  const { values, positionals, tokens } = parseArgs({
    args,
    options: { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
    tokens: true,
  });
  if (values['help'] === true) return 'help';
  // Arguments after `--` belong to the command (e.g. the script's own arguments for `run`), not to us.
  const terminator = tokens.find((t) => t.kind === 'option-terminator');
  const before = terminator === undefined ? positionals : positionals.slice(0, tokens.filter((t) => t.kind === 'positional' && t.index < terminator.index).length);
  const rest = terminator === undefined ? [] : positionals.slice(before.length);
  return { values, positionals: before, rest };
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
