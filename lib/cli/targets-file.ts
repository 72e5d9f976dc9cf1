/**
 * The targets file of the fleet commands (`--targets FILE`): one agent per line, `name url thumbprint`, separated by
 * spaces or tabs; blank lines and comments are ignored. A comment starts with `#` at the start of a line or after
 * whitespace, so a trailing one is allowed (`web-01 https://web-01:10933/ 36F3… # rack 4`).
 *
 * The whole file is checked before anything is sent: a fleet list with one bad line is a mistake in the list, and
 * running on the other agents first would leave the fleet half done with the mistake still to fix.
 */
import { readFile } from 'node:fs/promises';
import { parseAgentUrl } from '../index.js';
import { TargetsFileError } from './errors.js';

/** One line of a targets file, checked. */
export interface FileTarget {
  /** Labels the target's output and rows; unique within the file. */
  name: string;
  /** The agent's URL, normalised (`https://host:port/`). */
  url: string;
  /** The agent certificate's SHA-1 thumbprint, upper case. */
  thumbprint: string;
  /** Where it is in the file, counted from 1. */
  line: number;
}

/** A SHA-1 thumbprint as Tentacle prints it (`Tentacle show-thumbprint`): 40 hexadecimal digits, either case. */
const THUMBPRINT = /^[0-9A-Fa-f]{40}$/;

/** `#` at the start of a line or after whitespace, and everything after it. */
const COMMENT = /(^|\s)#.*$/;

/** C0 and C1 controls and DEL: a name labels output lines, where such a character could rewrite the terminal. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Reads and checks `file`. Rejects with TargetsFileError for a bad line or no targets, and as readFile does. */
export async function readTargetsFile(file: string): Promise<FileTarget[]> {
  return parseTargetsFile(await readFile(file, 'utf8'), file);
}

/**
 * Checks the text of a targets file and returns its targets in file order.
 *
 * @param file names the file in errors.
 * @throws TargetsFileError at the first bad line (wrong number of fields, an invalid URL or thumbprint, a name
 *   used twice or with control characters), or when the file lists no target at all.
 */
export function parseTargetsFile(text: string, file: string): FileTarget[] {
  const targets: FileTarget[] = [];
  const lineOfName = new Map<string, number>();
  // A byte order mark is what some Windows editors put first; it is not part of the first name.
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = index + 1;
    const fields = raw.replace(COMMENT, '').trim().split(/\s+/).filter((f) => f !== '');
    if (fields.length === 0) return;
    const bad = (problem: string): TargetsFileError => new TargetsFileError(file, line, problem);
    if (fields.length !== 3) throw bad(`expected 3 fields (name url thumbprint), found ${fields.length}`);
    const [name, url, thumbprint] = fields as [string, string, string];
    if (CONTROL.test(name)) throw bad(`the name '${name}' contains a control character`);
    const first = lineOfName.get(name);
    if (first !== undefined) throw bad(`the name '${name}' is already used on line ${first}`);
    let normalised: string;
    try {
      normalised = parseAgentUrl(url).url;
    } catch (err) {
      throw bad(`${(err as Error).message} (the second field is the agent's URL, https://host:port/)`);
    }
    if (!THUMBPRINT.test(thumbprint)) throw bad(`the thumbprint '${shorten(thumbprint)}' is not 40 hexadecimal digits (as Tentacle show-thumbprint prints it)`);
    lineOfName.set(name, line);
    targets.push({ name, url: normalised, thumbprint: thumbprint.toUpperCase(), line });
  });
  if (targets.length === 0) throw new TargetsFileError(file, undefined, 'no targets: expected one line per agent, name url thumbprint');
  return targets;
}

/** A field quoted in a message, cut short if someone pasted a whole certificate there. */
function shorten(field: string): string {
  return field.length > 60 ? `${field.slice(0, 57)}…` : field;
}
