// Captures the library's diagnostic log (the debug package, every halibut:* namespace) for the rest of the spec file.
import { format } from 'node:util';
import createDebug from 'debug';
import { onCleanup } from './cleanup.js';

/** Enables `namespaces` and returns the array the formatted lines are pushed to; restored when the file ends. */
export function captureDebugLog(namespaces = 'halibut:*'): string[] {
  const lines: string[] = [];
  const previousLog = createDebug.log;
  createDebug.log = (...args: unknown[]) => lines.push(format(...args));
  createDebug.enable(namespaces);
  onCleanup(() => {
    createDebug.disable();
    createDebug.log = previousLog;
  });
  return lines;
}
