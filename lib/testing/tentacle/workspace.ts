/**
 * A script's workspace: the directory named by its ticket where its files and bootstrap script are written before
 * it runs, as a Linux Tentacle lays it out (`Bootstrap.sh`, or `Bootstrap.ps1` for PowerShell).
 */
import { createCipheriv, pbkdf2Sync, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isSafeTicket, splitCommandLine, type ScriptFile, type StartScriptFields } from '../../contracts/index.js';
import { createAnywhere, createConfined, isInside } from './confined-paths.js';

/** What to start, once the workspace is ready. */
export interface ScriptInvocation {
  /** The executable, e.g. `/bin/bash`. */
  executable: string;
  /** Its arguments: the bootstrap script, then the script's own arguments. */
  args: string[];
}

/** The workspace directory of a ticket, refusing a ticket that is not a safe directory name. */
export function workspacePath(workRoot: string, ticket: string): string {
  if (!isSafeTicket(ticket)) throw new Error(`The script ticket '${ticket}' cannot name a workspace directory (empty, too long, or contains a path separator or control character)`);
  return join(workRoot, ticket);
}

/**
 * Where each of the command's files goes, checked before anything is written. A name is taken literally, as a
 * Linux Tentacle takes it (`sub\win.txt` is one file with a backslash in its name). Unless `allowOutside`, a name
 * must stay inside the workspace (a Tentacle writes `../x` or `/tmp/x` where it points).
 */
export function scriptFilePaths(workspace: string, files: readonly ScriptFile[], allowOutside: boolean): string[] {
  return files.map((file) => {
    const path = resolve(workspace, file.Name);
    if (file.Name.length === 0 || file.Name.includes('\0') || path === workspace || (!allowOutside && !isInside(workspace, path))) {
      throw new Error(`The script file name '${file.Name}' is not a path inside the script's workspace; it is refused`);
    }
    return path;
  });
}

/** How the workspace is prepared. */
export interface WorkspaceOptions {
  /** The shell for bash scripts. */
  bash: string;
  /** Write script files whose names point outside the workspace where they point, as a Tentacle does. */
  allowScriptFilesOutsideWorkspace: boolean;
}

/**
 * Creates the workspace, streams the command's files into it (in message order, as the connection delivers them)
 * and writes the bootstrap script. Returns how to run it.
 */
export async function prepareWorkspace(workspace: string, command: StartScriptFields, options: WorkspaceOptions): Promise<ScriptInvocation> {
  const allowOutside = options.allowScriptFilesOutsideWorkspace;
  const filePaths = scriptFilePaths(workspace, command.Files, allowOutside);
  await mkdir(workspace, { recursive: true });
  for (const [i, file] of command.Files.entries()) {
    const out = allowOutside ? await createAnywhere(filePaths[i]!) : await createConfined(workspace, file.Name, "the script's workspace");
    await writeScriptFile(out, file);
  }
  // The Tentacle joins the arguments unquoted and .NET splits the line again when it starts the shell.
  const args = splitCommandLine(command.Arguments.join(' '));
  const pwsh = await powerShellFor(command);
  if (pwsh !== undefined) {
    const bootstrap = join(workspace, 'Bootstrap.ps1');
    await writeFile(bootstrap, command.Scripts.PowerShell ?? '', 'utf8');
    return { executable: pwsh, args: ['-NonInteractive', '-NoProfile', '-File', bootstrap, ...args] };
  }
  const bootstrap = join(workspace, 'Bootstrap.sh');
  await writeFile(bootstrap, (command.Scripts.Bash ?? command.ScriptBody).replace(/\r\n/g, '\n'), 'utf8');
  return { executable: options.bash, args: [bootstrap, ...args] };
}

/** Deletes a workspace (and whatever the script left in it). */
export async function deleteWorkspace(workspace: string): Promise<void> {
  await rm(workspace, { recursive: true, force: true, maxRetries: 3 });
}

async function writeScriptFile(handle: FileHandle, file: ScriptFile): Promise<void> {
  const body = file.Contents.readable();
  const out = handle.createWriteStream();
  if (file.EncryptionPassword === null) {
    await pipeline(body, out);
    return;
  }
  // What Tentacle's AesEncryption writes for Calamari: "IV__", the random IV, then AES-128-CBC (PKCS#7) of the body,
  // keyed by PBKDF2-SHA1 of the password (salt "Octopuss", 1000 iterations).
  const key = pbkdf2Sync(file.EncryptionPassword, 'Octopuss', 1000, 16, 'sha1');
  const iv = randomBytes(16);
  // Buffered until the file is open; the pipeline then appends the ciphertext.
  out.write(Buffer.concat([Buffer.from('IV__', 'utf8'), iv]));
  await pipeline(body, createCipheriv('aes-128-cbc', key, iv), out);
}

/**
 * A PowerShell-only command (no Bash body, an empty ScriptBody) runs under `pwsh` when it is installed; everything
 * else runs under bash, as on a Linux Tentacle.
 */
async function powerShellFor(command: StartScriptFields): Promise<string | undefined> {
  if (command.Scripts.PowerShell === undefined || command.Scripts.Bash !== undefined || command.ScriptBody.trim() !== '') return undefined;
  return findOnPath('pwsh');
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    const found = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (found) return candidate;
  }
  return undefined;
}
