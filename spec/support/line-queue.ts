// Reading a child process's output line by line, one awaited line at a time.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * Returns a function resolving to the next line of `input`. Once `ended` resolves (to a description of why, e.g. the
 * process exited), a line that will never come rejects with that description.
 */
export function lineQueue(input: Readable, ended: Promise<string>): () => Promise<string> {
  const lines = createInterface({ input });
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => {
    const next = waiting.shift();
    if (next === undefined) queue.push(line);
    else next(line);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const line = queue.shift();
      if (line !== undefined) return resolve(line);
      waiting.push(resolve);
      void ended.then((why) => reject(new Error(why)));
    });
}
