/** `halibut cert new`: a new self-signed identity, Tentacle style, saved as PEM files with a private key file. */
import { constants } from 'node:fs';
import { chmod, mkdir, open, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateCertificate } from '../../index.js';
import { flag, requirePositionals, stringValue, type Command } from '../command.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine } from '../json-output.js';
import { certificateLines, describePresented } from '../presented.js';

export const certNewCommand: Command = {
  name: 'cert new',
  summary: 'Create a certificate and private key (PEM files) for the client or an agent',
  options: {
    cn: { type: 'string' },
    out: { type: 'string', short: 'o' },
    name: { type: 'string' },
    days: { type: 'string' },
    force: { type: 'boolean' },
  },
  help: `Usage: halibut cert new --out DIR [--cn NAME] [--name BASENAME] [--days N] [--force] [--json]

Makes a new RSA 2048 key and a self-signed certificate the way a Tentacle makes its own, and writes
DIR/BASENAME.crt (the certificate) and DIR/BASENAME.key (the private key, PKCS#8, readable by you only: mode 0600).
Prints the thumbprint to trust on the Tentacle.

  -o, --out DIR        directory to write to (created if missing)
  --cn NAME            the certificate's common name (default halibut-client)
  --name BASENAME      file names without extension (default halibut)
  --days N             validity in days (default 100 years, as Tentacle)
  --force              overwrite existing files
  --json               print { certFile, keyFile, subject, thumbprint, thumbprintSha256, notBefore, notAfter }

Exit codes: 0 written, 1 could not write, 2 usage error.

Example:
  halibut cert new --cn deploy-bot --out ~/.halibut
  halibut probe https://tentacle-01:10933/ --cert ~/.halibut/halibut.crt --key ~/.halibut/halibut.key`,
  async run(input, io) {
    requirePositionals(input, [], 'cert new');
    const out = stringValue(input.values, 'out');
    if (out === undefined) throw new UsageError('--out DIR is required', 'cert new');
    const base = stringValue(input.values, 'name') ?? 'halibut';
    if (base === '' || /[/\\]/.test(base)) throw new UsageError(`--name must be a plain file name (got '${base}')`, 'cert new');
    const daysText = stringValue(input.values, 'days');
    const days = daysText === undefined ? undefined : Number(daysText);
    if (days !== undefined && (!Number.isFinite(days) || days <= 0)) throw new UsageError(`--days must be a positive number (got '${daysText ?? ''}')`, 'cert new');
    const commonName = stringValue(input.values, 'cn');
    let identity;
    try {
      identity = await generateCertificate({ commonName, validityDays: days });
    } catch (err) {
      if (err instanceof TypeError) throw new UsageError(err.message, 'cert new');
      throw err;
    }

    const dir = resolve(out);
    await mkdir(dir, { recursive: true });
    const certFile = join(dir, `${base}.crt`);
    const keyFile = join(dir, `${base}.key`);
    const force = flag(input.values, 'force');
    // The key first, created with 0600 from the start so that it is never readable by others, not even briefly.
    await writeNew(keyFile, identity.key, 0o600, force);
    await writeNew(certFile, identity.cert, 0o644, force);

    if (flag(input.values, 'json')) {
      io.out(toJsonLine({ certFile, keyFile, ...describePresented(identity) }));
    } else {
      io.out(`Wrote ${certFile}\n      ${keyFile} (private key, mode 0600)\n`);
      io.out(certificateLines(identity, '  '));
      io.out(`Trust it on a Tentacle with:  Tentacle configure --trust ${identity.thumbprint}\n`);
    }
    return ExitCode.ok;
  },
};

async function writeNew(path: string, text: string, mode: number, force: boolean): Promise<void> {
  if (force) await unlink(path).catch((err: unknown) => ((err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : Promise.reject(err as Error)));
  let file;
  try {
    file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${path} already exists (use --force to replace it)`, 'cert new');
    throw err;
  }
  try {
    await file.writeFile(text);
    // The umask can only take bits away, but be explicit: the mode is what we promise.
    await chmod(path, mode);
  } finally {
    await file.close();
  }
}
