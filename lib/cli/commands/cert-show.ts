/** `halibut cert show FILE`: what a certificate file holds — thumbprint, subject, validity — from PEM, DER or PFX. */
import { readFile } from 'node:fs/promises';
import { describeCertificate, loadPfx } from '../../index.js';
import { flag, requirePositionals, stringValue, type Command } from '../command.js';
import { ENV } from '../connection-options.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine } from '../json-output.js';
import { certificateLines, describePresented, type CertificateFields } from '../presented.js';

export const certShowCommand: Command = {
  name: 'cert show',
  summary: 'Show the thumbprint, subject and validity of a certificate file (PEM, DER or PFX)',
  options: { password: { type: 'string' } },
  help: `Usage: halibut cert show FILE [--password P] [--json]

Reads a certificate (PEM or DER; the first one of a chain) or a PFX/PKCS#12 file and prints its SHA-1 thumbprint
(what Halibut pins and Tentacle trusts), SHA-256 thumbprint, subject and validity.

  --password P         the PFX password. Prefer the environment variable HALIBUT_PFX_PASSWORD: a password on the
                       command line is visible to other users in the process list.
  --json               print { file, kind, subject, thumbprint, thumbprintSha256, notBefore, notAfter, expired }

Exit codes: 0 shown, 1 unreadable file (or wrong password), 2 usage error.`,
  async run(input, io) {
    const [file] = requirePositionals(input, ['FILE'], 'cert show');
    const bytes = await readFile(file!);
    const { kind, cert } = readCertificate(bytes, stringValue(input.values, 'password') ?? io.env[ENV.pfxPassword]);
    if (flag(input.values, 'json')) {
      io.out(toJsonLine({ file, kind, ...describePresented(cert) }));
    } else {
      io.out(`${file!} (${kind})\n`);
      io.out(certificateLines(cert, '  '));
    }
    return ExitCode.ok;
  },
};

/** PEM text, then DER, then PFX: a DER certificate and a PFX both start with an ASN.1 SEQUENCE, so try in turn. */
function readCertificate(bytes: Buffer, password: string | undefined): { kind: 'pem' | 'der' | 'pfx'; cert: CertificateFields } {
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return { kind: 'pem', cert: describeCertificate(text) };
  try {
    return { kind: 'der', cert: describeCertificate(bytes) };
  } catch {
    // Not a DER certificate: a PFX, or nothing we can read (loadPfx explains which).
  }
  return { kind: 'pfx', cert: loadPfx(bytes, password) };
}
