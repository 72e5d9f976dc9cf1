/**
 * Call parameters from the command line: a JSON array, with a few tagged objects for the .NET types JSON has no
 * way to say (documented in `halibut call --help` and docs/cli.md).
 */
import { Double, Guid, Int32, Int64 } from '../index.js';
import { UsageError } from './errors.js';

/** Parses JSON_PARAMS into the values the client sends. */
export function parseParams(text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`JSON_PARAMS is not valid JSON: ${(err as Error).message}`, 'call');
  }
  if (!Array.isArray(parsed)) throw new UsageError('JSON_PARAMS must be a JSON array of arguments, e.g. \'["World", 42]\'', 'call');
  return parsed.map((value) => revive(value));
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => revive(item));
  if (value === null || typeof value !== 'object') return value;
  const entries: Array<[string, unknown]> = Object.entries(value as Record<string, unknown>);
  const tagged = entries.length === 1 ? entries[0] : undefined;
  if (tagged !== undefined) {
    const [tag, content] = tagged;
    try {
      switch (tag) {
        case '$int64':
          return new Int64(BigInt(asScalar(content, tag)));
        case '$int32':
          return new Int32(Number(asScalar(content, tag)));
        case '$double':
          return new Double(Number(asScalar(content, tag)));
        case '$guid':
          return Guid.parse(String(asScalar(content, tag)));
        case '$base64':
          return Buffer.from(String(asScalar(content, tag)), 'base64');
        case '$date': {
          const date = new Date(String(asScalar(content, tag)));
          if (Number.isNaN(date.getTime())) throw new Error('not a date');
          return date;
        }
      }
    } catch (err) {
      throw new UsageError(`Bad ${tag} value ${JSON.stringify(content)} in JSON_PARAMS: ${(err as Error).message}`, 'call');
    }
  }
  return Object.fromEntries(entries.map(([key, item]) => [key, revive(item)]));
}

function asScalar(content: unknown, tag: string): string | number {
  if (typeof content === 'string' || typeof content === 'number') return content;
  throw new Error(`${tag} takes a string or a number`);
}
