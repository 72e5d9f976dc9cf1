/**
 * Remote text made safe for a terminal. An agent (or a client of `halibut agent`) chooses the words of its errors,
 * its certificate's subject, its capability names and paths; printed raw, an escape sequence in them could recolour,
 * retitle or rewrite the terminal, or a line break could forge a line of our own output. Every such string goes
 * through {@link terminalSafe} before human output; JSON output escapes the same characters (json-output.ts).
 */

/** C0 controls (line breaks included), DEL and C1 controls (U+0080–U+009F, where a lone CSI lives). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with every control character shown as `\uXXXX` (ESC becomes `\u001b`), on one line. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** The escaped form of one control character, as JSON would write it. */
export function escapeControl(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
