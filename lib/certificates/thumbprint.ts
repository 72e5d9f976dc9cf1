/**
 * Thumbprints: the hash of a certificate's DER bytes, which is how Halibut and Tentacle name and trust certificates.
 * They show SHA-1 as 40 uppercase hex digits with no separators (`.NET`'s `X509Certificate2.Thumbprint`).
 */
import type { X509Certificate } from 'node:crypto';
import { InvalidThumbprintError } from './errors.js';
import { readLeafCertificate } from './pem.js';

/**
 * The SHA-1 thumbprint of a certificate, as Halibut and Tentacle show it: 40 uppercase hex digits.
 *
 * @param cert PEM text (the first certificate is used when it holds a chain) or DER bytes.
 * @throws {@link CertificateFormatError} when the input is not a readable certificate.
 */
export function thumbprintOf(cert: string | Buffer): string {
  return sha1Thumbprint(readLeafCertificate(cert, 'the certificate'));
}

/**
 * The SHA-256 thumbprint of a certificate: 64 uppercase hex digits. Halibut pins SHA-1; this is for display and for
 * tools that prefer SHA-256.
 *
 * @param cert PEM text (the first certificate is used when it holds a chain) or DER bytes.
 * @throws {@link CertificateFormatError} when the input is not a readable certificate.
 */
export function thumbprint256Of(cert: string | Buffer): string {
  return sha256Thumbprint(readLeafCertificate(cert, 'the certificate'));
}

/** @internal The SHA-1 thumbprint of a parsed certificate, in Halibut form. */
export function sha1Thumbprint(cert: X509Certificate): string {
  return cert.fingerprint.replaceAll(':', '');
}

/** @internal The SHA-256 thumbprint of a parsed certificate: 64 uppercase hex digits. */
export function sha256Thumbprint(cert: X509Certificate): string {
  return cert.fingerprint256.replaceAll(':', '');
}

// Separators people paste: spaces and colons (Windows' certificate dialog, openssl), hyphens (.NET's
// BitConverter), and the invisible marks the Windows dialog puts around the value (U+200E, U+200F) or that editors
// add (zero-width spaces, BOM, word joiner).
const SEPARATORS = /[\s:\-\u200B-\u200F\u2060\uFEFF]/gu;
// `openssl x509 -fingerprint -sha1` prints `SHA1 Fingerprint=AB:CD:…`; people paste the whole line.
const OPENSSL_PREFIX = /^\s*sha-?1\s+fingerprint\s*=/iu;

/**
 * Turns a SHA-1 thumbprint as people copy it into Halibut's form: 40 uppercase hex digits.
 *
 * Accepts lower case, colons, spaces, hyphens, the invisible left-to-right mark Windows' certificate dialog puts in
 * front of the value when it is copied, and a leading `SHA1 Fingerprint=` as printed by openssl.
 *
 * @throws {@link InvalidThumbprintError} for anything else; the message shows the value and what is wrong with it.
 */
export function normalizeThumbprint(value: string): string {
  if (typeof value !== 'string') {
    throw new InvalidThumbprintError(String(value), `expected a string of 40 hexadecimal digits, got ${value === null ? 'null' : typeof value}`);
  }
  const compact = value.replace(OPENSSL_PREFIX, '').replace(SEPARATORS, '');
  const bad = /[^0-9a-f]/iu.exec(compact)?.[0];
  if (bad !== undefined) {
    const shown = /^[\x21-\x7E]$/u.test(bad) ? `'${bad}'` : `U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw new InvalidThumbprintError(value, `it contains ${shown}, which is not a hexadecimal digit`);
  }
  if (compact.length === 64) {
    throw new InvalidThumbprintError(value, 'this is a SHA-256 thumbprint; Halibut identifies certificates by their SHA-1 thumbprint (40 hexadecimal digits)');
  }
  if (compact.length !== 40) {
    throw new InvalidThumbprintError(value, `expected 40 hexadecimal digits, got ${compact.length}`);
  }
  return compact.toUpperCase();
}
