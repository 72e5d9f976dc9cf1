/**
 * Path confinement: a path a client names must stay inside one directory on the agent (the agent's home for
 * transfers, the workspace for script files). The check is lexical first (`..`, absolute paths elsewhere), then on
 * what is really opened: on Linux every directory on the way is opened and its real location checked through
 * `/proc/self/fd` before anything is created in it, so a symbolic link swapped in at the same moment cannot make a
 * write land outside. Elsewhere (no `/proc`) the check is by path, before the operation.
 */
import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, realpath, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';

const PROC_FD = '/proc/self/fd';
/** Linux: an open descriptor's real path can be read back, and a path can be resolved inside an open directory. */
const HAVE_PROC_FD = existsSync(PROC_FD);

/** True when `path` is `root` or below it. Both must be absolute and normalised. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** A client's path with Windows separators made Linux ones, as a Linux Tentacle does for transfers. */
export function linuxPath(path: string): string {
  return path.replace(/\\/g, '/');
}

function checkText(path: string, what: string, root: string): void {
  if (path.length === 0) throw new Error(`An empty path was given; a path inside ${what} (${root}) is needed`);
  if (path.includes('\0')) throw new Error(`The path '${path.replace(/\0/g, '\\0')}' contains a NUL character`);
}

function outsideError(path: string, what: string, root: string): Error {
  return new Error(`The path '${path}' is outside ${what} (${root}); it is refused`);
}

/**
 * Resolves `path` (relative to `root`, or absolute) and checks it stays inside `root`, which must be a real
 * (symlink-free) absolute path. Throws an error naming `path` and `what` (e.g. "the agent's home") otherwise.
 * The path is the client's as given: callers that take Windows separators convert them first.
 */
export async function resolveConfined(root: string, path: string, what: string, shown = path): Promise<string> {
  checkText(shown, what, root);
  const full = resolve(root, path);
  if (!isInside(root, full)) throw outsideError(shown, what, root);
  const real = await realpathOfDeepestExisting(full);
  if (real === undefined || !isInside(root, real)) throw outsideError(shown, what, root);
  return full;
}

/** Where an open descriptor really is (Linux only). */
async function whereIs(handle: FileHandle): Promise<string> {
  return realpath(`${PROC_FD}/${handle.fd}`);
}

/**
 * Opens `path` (relative to `root`, or absolute inside it) for reading, and checks that what was opened is inside
 * `root`. Undefined when it does not exist or is not a regular file (a Tentacle's File.Exists). `shown` is the
 * path as the client gave it, for messages.
 */
export async function openConfinedForReading(root: string, path: string, what: string, shown = path): Promise<FileHandle | undefined> {
  const full = await resolveConfined(root, path, what, shown);
  let handle: FileHandle;
  try {
    handle = await open(full, constants.O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    if (HAVE_PROC_FD && !isInside(root, await whereIs(handle))) throw outsideError(shown, what, root);
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      return undefined;
    }
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Creates (or truncates) the file `path` inside `root` and its missing directories, and returns it open for
 * writing. On Linux each directory is entered through the descriptor of the one before and its real location
 * checked before anything is made in it, and the file itself is opened without following a symbolic link, so a
 * concurrent symlink swap cannot redirect the write outside `root`. A symbolic link as the file itself is refused.
 * `shown` is the path as the client gave it, for messages.
 */
export async function createConfined(root: string, path: string, what: string, shown = path): Promise<FileHandle> {
  const full = await resolveConfined(root, path, what, shown);
  if (!HAVE_PROC_FD) {
    await mkdir(dirname(full), { recursive: true });
    return open(full, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  }
  const parts = relative(root, full).split(sep);
  const last = parts.pop()!;
  let dir = await open(root, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    for (const part of parts) {
      const at = `${PROC_FD}/${dir.fd}/${part}`;
      await mkdir(at).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      });
      const next = await open(at, constants.O_RDONLY | constants.O_DIRECTORY);
      const real = await whereIs(next).catch(() => '');
      if (!isInside(root, real)) {
        await next.close();
        throw outsideError(shown, what, root);
      }
      await dir.close();
      dir = next;
    }
    try {
      return await open(`${PROC_FD}/${dir.fd}/${last}`, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`The path '${shown}' names a symbolic link; writing through it is refused`, { cause: err });
      throw err;
    }
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/** Creates (or truncates) `path` anywhere, with its missing directories: what a Tentacle does. */
export async function createAnywhere(path: string): Promise<FileHandle> {
  await mkdir(dirname(path), { recursive: true });
  return open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
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
