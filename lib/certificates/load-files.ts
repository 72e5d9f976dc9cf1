/**
 * Loading an identity from files, with the paths named in every error so the user knows which file to fix.
 */
import { readFile } from 'node:fs/promises';
import type { CertificateIdentity } from './identity.js';
import { loadPemFrom } from './load-pem.js';
import { loadPfxFrom } from './load-pfx.js';

/** A PFX / PKCS#12 file (`.pfx`, `.p12`) and its password. */
export interface PfxFile {
  /** Path of the PFX file. */
  pfx: string;
  /** The password it was exported with; omit or `''` for none. */
  password?: string | undefined;
}

/** A certificate file and a private key file, PEM (or DER). */
export interface PemFiles {
  /** Path of the certificate (a chain file works: the first certificate is used). */
  cert: string;
  /** Path of the private key. May be the same file as `cert` when it holds both. */
  key: string;
  /** The passphrase of an encrypted key. */
  passphrase?: string | undefined;
}

/**
 * Reads an identity from a PFX file, or from a certificate file and a key file.
 *
 * Errors reading the files (e.g. `ENOENT`) are passed on as they are; errors in their content are the
 * {@link loadPfx} / {@link loadPem} errors, with the file paths in the message.
 */
export async function loadCertificateFiles(options: PfxFile | PemFiles): Promise<CertificateIdentity> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('loadCertificateFiles needs { pfx, password? } or { cert, key, passphrase? }');
  }
  if ('pfx' in options) {
    if ('cert' in options || 'key' in options) throw new TypeError('Give either { pfx } or { cert, key }, not both');
    if (typeof options.pfx !== 'string') throw new TypeError('Option pfx must be a file path');
    const bytes = await readFile(options.pfx);
    return loadPfxFrom(bytes, options.password, `PFX file '${options.pfx}'`);
  }
  if (typeof options.cert !== 'string' || typeof options.key !== 'string') {
    throw new TypeError('loadCertificateFiles needs { pfx, password? } or { cert, key, passphrase? } with file paths');
  }
  const [cert, key] = await Promise.all([readFile(options.cert), readFile(options.key)]);
  return loadPemFrom(cert, key, options.passphrase, {
    cert: `certificate file '${options.cert}'`,
    key: `key file '${options.key}'`,
    keyFile: `key file '${options.key}'`,
  });
}
