/**
 * The certificate and private key this side presents in TLS, and the conversion the client applies to whatever it
 * is given as its certificate.
 */
import { isIdentity } from './build-identity.js';
import { loadPem } from './load-pem.js';

/**
 * A certificate with its private key, ready to present in TLS. Made by {@link generateCertificate},
 * {@link loadPem}, {@link loadPfx}, {@link loadCertificateFiles} or {@link toIdentity}; the key is known to belong
 * to the certificate.
 *
 * The private key is readable as `identity.key` but is not an enumerable property: `JSON.stringify`, `console.log`,
 * `util.inspect` and `{ ...identity }` leave it out. Pass the identity object itself around; a copy made by spreading,
 * JSON or `structuredClone` has no key.
 */
export interface CertificateIdentity {
  /** PEM of the leaf certificate. */
  readonly cert: string;
  /** PEM of the private key: PKCS#8, unencrypted. Never enumerable, never printed. */
  readonly key: string;
  /** SHA-1 of the certificate's DER: 40 uppercase hex digits, no separators. What Halibut and Tentacle show and trust. */
  readonly thumbprint: string;
  /** SHA-256 of the certificate's DER: 64 uppercase hex digits. */
  readonly thumbprintSha256: string;
  /** The subject on one line, most specific first, e.g. `CN=Octopus Tentacle` or `CN=host, O=Example, C=GB`. */
  readonly subject: string;
  /** Start of the validity period. Halibut ignores validity; it is shown for information. */
  readonly notBefore: Date;
  /** End of the validity period. An expired certificate still works with Halibut. */
  readonly notAfter: Date;
}

/** A PEM (or DER) certificate and private key, as accepted wherever an identity is. */
export interface CertificateKeyPair {
  /** The certificate; when it holds a chain, the first certificate is ours. */
  cert: string | Buffer;
  /** The private key: PKCS#8 or PKCS#1 (or SEC1 for EC), optionally encrypted. */
  key: string | Buffer;
  /** The passphrase of an encrypted key. */
  passphrase?: string | undefined;
}

/**
 * Accepts an identity from this module as it is, or loads a certificate/key pair with {@link loadPem}.
 *
 * @throws {@link CertificateFormatError}, {@link CertificatePasswordError} or {@link CertificateKeyMismatchError} as
 *   {@link loadPem} does; `TypeError` for a value that is neither.
 */
export function toIdentity(value: CertificateIdentity | CertificateKeyPair): CertificateIdentity {
  if (isIdentity(value)) return value;
  if (value === null || typeof value !== 'object' || !('cert' in value)) {
    throw new TypeError(
      'A certificate must be an identity from generateCertificate/loadPem/loadPfx/loadCertificateFiles, or { cert, key } in PEM',
    );
  }
  if (value.key === undefined || value.key === null) {
    throw new TypeError(
      'The certificate has no private key. Identities keep their key out of enumerable properties, so a copy made with ' +
        '{ ...identity }, JSON or structuredClone loses it: pass the identity object itself',
    );
  }
  const passphrase = 'passphrase' in value ? value.passphrase : undefined;
  return loadPem(value.cert, value.key, passphrase === undefined ? {} : { passphrase });
}
