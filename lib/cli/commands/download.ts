/** `halibut download <url> REMOTE LOCAL`: copies a file from the agent. */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TentacleClient } from '../../index.js';
import { flag, requirePositionals, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, attemptsHelp, attemptsOption, CERTIFICATE_HELP, certificateOptions, connectToAgent } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine } from '../json-output.js';
import { progressReporter } from '../progress.js';
import { QUIET_HELP } from './upload.js';

/** The `--json` output. */
export interface DownloadReport {
  ok: true;
  /** Where the file was written here, absolute. */
  path: string;
  /** Lowercase hex SHA-1 of the bytes received. */
  sha1: string;
  length: number;
}

export const downloadCommand: Command = {
  name: 'download',
  summary: 'Copy a file from an agent',
  options: { ...certificateOptions, ...agentOptions, ...attemptsOption, quiet: { type: 'boolean', short: 'q' } },
  help: `Usage: halibut download <url> REMOTE LOCAL -t THUMBPRINT (--cert FILE --key FILE | --pfx FILE)

Copies REMOTE on the agent (IFileTransferService.DownloadFile) to the local path LOCAL; when LOCAL is a directory,
into it under the remote file's name. The bytes go to a temporary file beside LOCAL, renamed into place once all
of them have arrived: LOCAL is never left half-written, and a failed download (e.g. no such remote file) leaves
nothing behind. Prints the SHA-1 and LOCAL on standard output, as 'sha1sum' does. Progress goes to standard
error: a bar on a terminal, otherwise a line every 10%.

${QUIET_HELP}

${CERTIFICATE_HELP}

${AGENT_HELP}
${attemptsHelp(1)}
  --json               print { "ok": true, "path": "…", "sha1": "…", "length": N }

Exit codes: 0 downloaded, 1 failed (no such remote file: ERR_REMOTE_FILE_NOT_FOUND; agent unreachable; LOCAL not
writable), 2 usage error, 130 interrupted.

Example:
  halibut download https://tentacle-01:10933/ C:\\Octopus\\Logs\\OctopusTentacle.txt ./ -t 36F3…403D --pfx octopus.pfx`,
  async run(input, io) {
    const [url, remote, local] = requirePositionals(input, ['<url>', 'REMOTE', 'LOCAL'], 'download');
    if (remote!.trim() === '') throw new UsageError('REMOTE must not be empty', 'download');
    const json = flag(input.values, 'json');
    const target = (await isDirectory(local!)) ? join(local!, remoteBaseName(remote!)) : local!;
    const { client, endpoint } = await connectToAgent(url!, input.values, io.env, 'download', { attempts: 1 });
    const progress = progressReporter(io, { verb: 'downloading', done: 'downloaded', label: remote!, tty: io.stderrIsTty }, flag(input.values, 'quiet'));
    try {
      // downloadFile writes beside the target and renames once complete, so a failure leaves nothing under LOCAL.
      const downloaded = await new TentacleClient(client).downloadFile(endpoint, remote!, target, { signal: io.interrupted, onProgress: (p) => progress.update(p) });
      progress.finish(downloaded.length);
      if (json) {
        const report: DownloadReport = { ok: true, path: resolve(target), sha1: downloaded.sha1, length: downloaded.length };
        io.out(toJsonLine(report));
      } else {
        io.out(`${downloaded.sha1}  ${target}\n`);
      }
      return ExitCode.ok;
    } catch (err) {
      progress.abandon();
      throw err;
    } finally {
      await client.close();
    }
  },
};

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The file name at the end of a remote path, which may be a Windows one (`C:\Octopus\x.txt`). */
function remoteBaseName(remote: string): string {
  const name = remote.split(/[\\/]/).filter((part) => part !== '').pop();
  if (name === undefined || name === '.' || name === '..') throw new UsageError(`Cannot tell a file name from '${remote}': give LOCAL as a file path`, 'download');
  return name;
}
