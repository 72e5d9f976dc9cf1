/** `halibut upload <url> LOCAL REMOTE`: copies a file to the agent and checks what it saved. */
import { stat } from 'node:fs/promises';
import { TentacleClient } from '../../index.js';
import { flag, requirePositionals, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, attemptsHelp, attemptsOption, CERTIFICATE_HELP, certificateOptions, connectToAgent } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine } from '../json-output.js';
import { progressReporter } from '../progress.js';
import { terminalSafe } from '../terminal-text.js';

/** The `--json` output. */
export interface UploadReport {
  ok: true;
  /** Where the agent saved the file. */
  fullPath: string;
  /** Lowercase hex SHA-1 the agent reported, equal to that of the bytes sent. */
  sha1: string;
  length: number;
}

/** `--quiet`: shared by upload and download. */
export const QUIET_HELP = '  -q, --quiet          no progress on standard error';

export const uploadCommand: Command = {
  name: 'upload',
  summary: 'Copy a file to an agent (SHA-1 checked)',
  options: { ...certificateOptions, ...agentOptions, ...attemptsOption, quiet: { type: 'boolean', short: 'q' } },
  help: `Usage: halibut upload <url> LOCAL REMOTE -t THUMBPRINT (--cert FILE --key FILE | --pfx FILE)

Copies the local file LOCAL to REMOTE on the agent (IFileTransferService.UploadFile), replacing any file there,
and checks that the agent saved the same bytes: the length and SHA-1 it reports must match what was sent.
A relative REMOTE is resolved by the agent. Prints the SHA-1 and the full path on the agent on standard output,
as 'sha1sum' does. Progress goes to standard error: a bar on a terminal, otherwise a line every 10%.

${QUIET_HELP}

${CERTIFICATE_HELP}

${AGENT_HELP}
${attemptsHelp(1)}
  --json               print { "ok": true, "fullPath": "…", "sha1": "…", "length": N }

Exit codes: 0 uploaded and verified, 1 failed (LOCAL unreadable, agent unreachable, the agent's copy differs:
ERR_UPLOAD_VERIFICATION), 2 usage error, 130 interrupted.

Example:
  halibut upload https://tentacle-01:10933/ ./app.1.0.0.zip C:\\Octopus\\Files\\app.1.0.0.zip -t 36F3…403D --pfx octopus.pfx`,
  async run(input, io) {
    const [url, local, remote] = requirePositionals(input, ['<url>', 'LOCAL', 'REMOTE'], 'upload');
    if (remote!.trim() === '') throw new UsageError('REMOTE must not be empty', 'upload');
    const json = flag(input.values, 'json');
    // Checked here rather than left to the transfer: "is a directory" is clearer before connecting than after.
    const localFile = await stat(local!);
    if (!localFile.isFile()) throw new UsageError(`LOCAL must be a file: ${local!} is not`, 'upload');
    const { client, endpoint } = await connectToAgent(url!, input.values, io.env, 'upload', { attempts: 1 });
    const progress = progressReporter(io, { verb: 'uploading', done: 'uploaded', label: local!, tty: io.stderrIsTty }, flag(input.values, 'quiet'));
    try {
      const uploaded = await new TentacleClient(client).uploadFile(endpoint, remote!, local!, {
        signal: io.interrupted,
        onProgress: (p) => progress.update({ bytes: p.bytes, total: p.total ?? localFile.size }),
      });
      progress.finish(uploaded.length);
      if (json) {
        const report: UploadReport = { ok: true, fullPath: uploaded.fullPath, sha1: uploaded.sha1, length: uploaded.length };
        io.out(toJsonLine(report));
      } else {
        io.out(`${terminalSafe(uploaded.sha1)}  ${terminalSafe(uploaded.fullPath)}\n`);
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
