/** Where `run` prints a script's line for people, for one agent or, prefixed with its name, for many. */
import type { LogLine } from '../index.js';
import type { CliIo } from './io.js';
import { terminalSafe } from './terminal-text.js';

/**
 * Prints `line` after `prefix`: the script's standard output to ours, everything else to standard error. The
 * script's own lines pass through as it wrote them; the agent's lines, which the script did not choose, are escaped.
 */
export function printScriptLine(line: LogLine, io: CliIo, verbose: boolean, prefix = ''): void {
  // Tentacle marks its own messages about the isolation mutex as verbose (Octopus hides them by default) and the
  // ones about waiting for it as wait: the first are noise unless something needs explaining, the second say why
  // nothing happens. Neither is the script's output, so neither goes to standard output.
  if (line.level === 'verbose' || line.source === 'debug') {
    if (verbose) io.err(`${prefix}${line.source === 'debug' ? 'debug' : 'verbose'}: ${terminalSafe(line.text)}\n`);
  } else if (line.level === 'wait') {
    io.err(`${prefix}waiting: ${terminalSafe(line.text)}\n`);
  } else if (line.source === 'stdout') {
    io.out(`${prefix}${line.text}\n`);
  } else {
    io.err(`${prefix}${line.text}\n`);
  }
}
