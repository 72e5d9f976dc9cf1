/**
 * Path confinement: a path a client names must stay inside one directory on the agent (the file root for
 * transfers, the workspace for script files). The check is lexical first (`..`, absolute paths elsewhere), then
 * through symbolic links: the deepest part of the path that exists must really be inside too.
 */
import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** True when `path` is `root` or below it. Both must be absolute and normalised. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** A client's path with Windows separators made Linux ones, as a Linux Tentacle does. */
export function linuxPath(path: string): string {
  return path.replace(/\\/g, '/');
}

/**
 * Resolves `path` (relative to `root`, or absolute) and checks it stays inside `root`, which must be a real
 * (symlink-free) absolute path. Throws an error naming `path` and `what` (e.g. "the agent's file root") otherwise.
 */
export async function resolveConfined(root: string, path: string, what: string): Promise<string> {
  const outside = (): Error => new Error(`The path '${path}' is outside ${what} (${root}); it is refused`);
  if (path.length === 0) throw new Error(`An empty path was given; a path inside ${what} (${root}) is needed`);
  if (path.includes('\0')) throw new Error(`The path '${path.replace(/\0/g, '\\0')}' contains a NUL character`);
  const full = resolve(root, linuxPath(path));
  if (!isInside(root, full)) throw outside();
  const real = await realpathOfDeepestExisting(full);
  if (real === undefined || !isInside(root, real)) throw outside();
  return full;
}

/**
 * The real path of `path` if it exists, else of its nearest existing ancestor. Undefined for a dangling symbolic
 * link on the way, whose target (which writing would create) cannot be checked without following it by hand.
 */
async function realpathOfDeepestExisting(path: string): Promise<string | undefined> {
  for (let probe = path; ; probe = dirname(probe)) {
    try {
      return await realpath(probe);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(probe) === probe) throw err;
      const exists = await lstat(probe).then(
        () => true,
        () => false,
      );
      if (exists) return undefined;
    }
  }
}
