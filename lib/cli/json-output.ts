/**
 * JSON for machines: one document per command, with the values the library returns made representable — dates as
 * ISO strings, bigints as decimal strings (JSON numbers would lose precision), bytes as base64, Guids and other .NET
 * value wrappers through their own `toJSON`.
 */

/** Serialises `value` on one line followed by a newline. */
export function toJsonLine(value: unknown): string {
  return `${JSON.stringify(value, replacer)}\n`;
}

/** Serialises `value` indented, for results a person may read. */
export function toJsonPretty(value: unknown): string {
  return `${JSON.stringify(value, replacer, 2)}\n`;
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  // Buffer has its own toJSON ({ type, data }), which has already run by the time we see it; undo that shape.
  if (isBufferJson(value)) return { $base64: Buffer.from(value.data).toString('base64') };
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value).toString('base64') };
  return value;
}

function isBufferJson(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data);
}
