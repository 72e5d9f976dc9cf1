/**
 * Loading a PFX / PKCS#12 file (`.pfx`, `.p12`): what Windows, .NET, IIS and Octopus export a certificate with its
 * private key as. Modern (AES) exports and legacy ones (3DES, RC2-40) are both read.
 */
import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { buildIdentity, formatName, keyMatches } from './build-identity.js';
import { CertificateFormatError, CertificateKeyMismatchError, CertificatePasswordError } from './errors.js';
import type { CertificateIdentity } from './identity.js';
import { capitalise, looksLikePem, parseCertificate } from './pem.js';
import { Pkcs12ReadError, readPkcs12 } from './pkcs12.js';
import { sha1Thumbprint } from './thumbprint.js';

/**
 * Loads the certificate and private key from a PFX.
 *
 * When the PFX also holds issuer certificates, the identity's certificate is the one the private key belongs to.
 *
 * @param pfx the file's bytes.
 * @param password the password it was exported with; `''` and `undefined` both mean "no password".
 * @throws {@link CertificatePasswordError} when the password is wrong, or missing for a protected file.
 * @throws {@link CertificateFormatError} when the bytes are not a readable PFX, or it holds no private key or no
 *   certificate.
 * @throws {@link CertificateKeyMismatchError} when its private key belongs to none of its certificates.
 */
export function loadPfx(pfx: Buffer, password?: string): CertificateIdentity {
  return loadPfxFrom(pfx, password, 'the PFX data');
}

/** @internal {@link loadPfx} with the input's name for messages (e.g. the file path). */
export function loadPfxFrom(pfx: Buffer | Uint8Array, password: string | undefined, source: string): CertificateIdentity {
  if (!(pfx instanceof Uint8Array)) {
    throw new TypeError(`${capitalise(source)} must be a Buffer holding the PFX file's bytes, got ${pfx === null ? 'null' : typeof pfx}`);
  }
  // The value itself must never reach a message, even when it is of the wrong type.
  if (password !== undefined && typeof password !== 'string') throw new TypeError('The PFX password must be a string');
  if (pfx.length === 0) throw new CertificateFormatError(`${capitalise(source)} is empty; expected a PFX (PKCS#12) file`);
  if (looksLikePem(pfx)) {
    throw new CertificateFormatError(
      `${capitalise(source)} is PEM text, not a PFX (PKCS#12) file; load PEM certificates and keys with loadPem`,
    );
  }

  let contents;
  try {
    contents = readPkcs12(Buffer.from(pfx.buffer, pfx.byteOffset, pfx.byteLength), password);
  } catch (err) {
    throw publicError(err, source);
  }
  if (contents.keys.length === 0) {
    throw new CertificateFormatError(
      `${capitalise(source)} holds no private key; export the certificate again including its private key ` +
        '(in Windows: "Yes, export the private key")',
    );
  }
  if (contents.certificates.length === 0) {
    throw new CertificateFormatError(`${capitalise(source)} holds a private key but no certificate; expected both`);
  }

  const certificates = contents.certificates.map((der) => parseCertificate(der, `a certificate in ${source}`));
  const keys = contents.keys.map((der): KeyObject => {
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch (err) {
      throw new CertificateFormatError(`The private key in ${source} is not readable (${(err as Error).message})`, { cause: err });
    }
  });
  // The leaf is whichever certificate the key belongs to; tools disagree on where they put it among its issuers.
  for (const key of keys) {
    const leaf = certificates.find((cert) => keyMatches(cert, key));
    if (leaf !== undefined) return buildIdentity(leaf, key);
  }
  throw mismatch(certificates[0]!, source);
}

function mismatch(cert: X509Certificate, source: string): CertificateKeyMismatchError {
  return new CertificateKeyMismatchError(formatName(cert.subject), sha1Thumbprint(cert), { keySource: source });
}

function publicError(err: unknown, source: string): Error {
  if (!(err instanceof Pkcs12ReadError)) {
    return new CertificateFormatError(`${capitalise(source)} could not be read as a PFX (PKCS#12) file (${(err as Error).message})`, {
      cause: err,
    });
  }
  switch (err.kind) {
    case 'password-missing':
      return new CertificatePasswordError(`${capitalise(source)} is protected by a password; give the password it was exported with`, 'missing', {
        cause: err,
      });
    case 'password-incorrect':
      return new CertificatePasswordError(`The password for ${source} is wrong (or the file is damaged)`, 'incorrect', { cause: err });
    case 'unsupported':
      return new CertificateFormatError(
        `${capitalise(source)} cannot be read: ${err.message}. Export it again, or convert it to PEM with ` +
          '`openssl pkcs12 -in file.pfx -out file.pem -nodes` and use loadPem',
        { cause: err },
      );
    case 'format':
      return new CertificateFormatError(`${capitalise(source)} is not a readable PFX (PKCS#12) file: ${err.message}`, { cause: err });
  }
}
