/**
 * Turns a process's output chunks into lines, the way .NET's asynchronous process reader does: `\n`, `\r\n` and a
 * lone `\r` each end a line, UTF-8 is decoded across chunk boundaries, and a last line without a terminator is
 * only released by {@link LineSplitter.end}.
 */
import { StringDecoder } from 'node:string_decoder';

const LINE_END = /[\r\n]/g;

export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';
  /** The previous chunk ended in `\r`: a `\n` at the start of the next one belongs to the same line end. */
  #skipLf = false;

  /** Adds a chunk and returns the lines it completed. */
  push(chunk: Buffer | string): string[] {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    if (text.length === 0) return [];
    if (this.#skipLf && text.startsWith('\n')) text = text.slice(1);
    this.#skipLf = false;
    const lines: string[] = [];
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let m = LINE_END.exec(text); m !== null; m = LINE_END.exec(text)) {
      lines.push(this.#partial + text.slice(start, m.index));
      this.#partial = '';
      start = m.index + 1;
      if (m[0] === '\r') {
        if (start === text.length) this.#skipLf = true;
        else if (text[start] === '\n') start++;
        LINE_END.lastIndex = start;
      }
    }
    this.#partial += text.slice(start);
    return lines;
  }

  /** Ends the input and returns the unterminated last line, if there is one. */
  end(): string[] {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    return rest.length > 0 ? [rest] : [];
  }
}
