import { Guid } from '../protocol/dotnet-values.js';
import type { ScriptTicket } from './dtos.js';

/**
 * A new client-chosen ticket for V2 and Kubernetes script services, made as Tentacle's own client makes them: the
 * base64 of a random Guid with everything but letters and digits removed (about 22 characters). The ticket becomes a
 * directory name on the agent, so it must stay filesystem-safe.
 */
export function newScriptTicket(): ScriptTicket {
  return { TaskId: Guid.random().toDotnetBytes().toString('base64').replace(/[^A-Za-z0-9]/g, '') };
}

/** True when a ticket is safe to use as a directory name: no separators, no dots-only names, no control characters. */
export function isSafeTicket(taskId: string): boolean {
  // eslint-disable-next-line no-control-regex
  return taskId.length > 0 && taskId.length <= 200 && !/[/\\\u0000-\u001f]/.test(taskId) && taskId !== '.' && taskId !== '..';
}

/**
 * True when `taskId` may be chosen by a caller for a new script: 1 to 128 letters, digits, `-`, `_` or `.`, not
 * starting with a dot. Stricter than {@link isSafeTicket}, which is what an agent accepts from anyone: a caller's
 * ticket is stored (in a job queue, a database) and typed into paths and logs, so it keeps to a set that needs no
 * quoting anywhere.
 */
export function isCallerTicket(taskId: string): boolean {
  return typeof taskId === 'string' && /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(taskId);
}
