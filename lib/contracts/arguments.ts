/**
 * Script arguments. A Tentacle joins `Arguments` with spaces, unquoted, into one command line, and .NET splits that
 * line again by its own rules when it starts the shell. So an argument with a space, a quote or a backslash before
 * a quote must be quoted by the sender, the way .NET itself would quote it; `quoteArguments` does that, and
 * `splitCommandLine` is the splitting side (what the shell then receives).
 */

const NEEDS_QUOTES = /[\s"]/u;

/**
 * Quotes one argument so that .NET's command-line splitting gives it back unchanged. A Tentacle joins `Arguments`
 * with spaces, unquoted, so an argument with a space, a quote or a backslash before a quote must be quoted first.
 */
export function quoteArgument(arg: string): string {
  if (arg.length > 0 && !NEEDS_QUOTES.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    // Backslashes are literal except before a quote, where each pair means one backslash.
    out += ch === '"' ? '\\'.repeat(backslashes * 2 + 1) + '"' : '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  // Before the closing quote the backslashes are doubled too.
  return `${out}${'\\'.repeat(backslashes * 2)}"`;
}

/** Quotes every argument (see {@link quoteArgument}). */
export function quoteArguments(args: readonly string[]): string[] {
  return args.map(quoteArgument);
}

/** Splits a command line the way .NET does before starting a process on Linux. */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/u.test(line[i]!)) i++;
    if (i === line.length) break;
    let current = '';
    let inQuotes = false;
    while (i < line.length && (inQuotes || !/\s/u.test(line[i]!))) {
      const ch = line[i]!;
      if (ch === '\\') {
        let count = 0;
        while (i < line.length && line[i] === '\\') {
          count++;
          i++;
        }
        if (line[i] === '"') {
          current += '\\'.repeat(Math.floor(count / 2));
          if (count % 2 === 1) {
            current += '"';
            i++;
          }
        } else {
          current += '\\'.repeat(count);
        }
        continue;
      }
      if (ch === '"') {
        if (inQuotes && line[i + 1] === '"') {
          current += '"';
          i += 2;
          continue;
        }
        inQuotes = !inQuotes;
        i++;
        continue;
      }
      current += ch;
      i++;
    }
    args.push(current);
  }
  return args;
}
