/**
 * JSON for machines: one document per command, with the values the library returns made representable — dates as
 * ISO strings, bigints as decimal strings (JSON numbers would lose precision), bytes as base64, Guids and other .NET
 * value wrappers through their own `toJSON`.
 */
import { escapeControl } from './terminal-text.js';

/** Serialises `value` on one line followed by a newline. */
export function toJsonLine(value: unknown): string {
  return `${escapeC1(JSON.stringify(value, replacer))}\n`;
}

/** Serialises `value` indented, for results a person may read. */
export function toJsonPretty(value: unknown): string {
  return `${escapeC1(JSON.stringify(value, replacer, 2))}\n`;
}

/**
 * JSON.stringify escapes C0 controls but writes DEL and the C1 range (a lone CSI, U+009B) as they are; escaped here
 * too (still the same JSON), so that remote text in a result cannot drive a terminal it is printed on. These
 * characters can only occur inside strings, where `\uXXXX` means the same.
 */
function escapeC1(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, escapeControl);
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
