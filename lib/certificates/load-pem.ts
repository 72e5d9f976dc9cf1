/**
 * Loading a certificate and private key given separately, as PEM (what Linux tools and `openssl` write) or DER.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { buildIdentity } from './build-identity.js';
import { CertificateFormatError, CertificatePasswordError } from './errors.js';
import type { CertificateIdentity } from './identity.js';
import { asLatin1, capitalise, looksLikePem, pemLabels, readLeafCertificate } from './pem.js';

/** Options for {@link loadPem}. */
export interface LoadPemOptions {
  /** The passphrase of an encrypted key. Ignored when the key is not encrypted. */
  passphrase?: string | undefined;
}

/**
 * Loads a certificate and its private key.
 *
 * @param cert PEM (when it holds a chain, such as a certificate followed by its issuers, the first is used) or DER.
 * @param key PEM in any of the usual forms: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1), `EC PRIVATE KEY`,
 *   `ENCRYPTED PRIVATE KEY`, or a traditional encrypted PEM; or unencrypted DER.
 * @throws {@link CertificatePasswordError} when the key is encrypted and the passphrase is missing or wrong.
 * @throws {@link CertificateKeyMismatchError} when the key is not the certificate's.
 * @throws {@link CertificateFormatError} when either input cannot be read.
 */
export function loadPem(cert: string | Buffer, key: string | Buffer, options: LoadPemOptions = {}): CertificateIdentity {
  return loadPemFrom(cert, key, options.passphrase, { cert: 'the certificate', key: 'the private key' });
}

/**
 * @internal {@link loadPem} with the inputs' names for messages (e.g. the file paths); `keyFile` names the key's
 * file in a mismatch message, where "the private key" alone would add nothing.
 */
export function loadPemFrom(
  cert: string | Buffer,
  key: string | Buffer,
  passphrase: string | undefined,
  sources: { cert: string; key: string; keyFile?: string },
): CertificateIdentity {
  if (passphrase !== undefined && typeof passphrase !== 'string') throw new TypeError('The passphrase must be a string');
  const x509 = readLeafCertificate(cert, sources.cert);
  const privateKey = readPrivateKey(key, passphrase, sources.key);
  return buildIdentity(x509, privateKey, sources.keyFile);
}

// Both forms of encrypted PEM: PKCS#8 (`ENCRYPTED PRIVATE KEY`) and OpenSSL's traditional `Proc-Type: 4,ENCRYPTED`.
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/u;
const PRIVATE_KEY_PEM = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/u;

function readPrivateKey(input: string | Buffer, passphrase: string | undefined, source: string): KeyObject {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TypeError(`${capitalise(source)} must be a string or a Buffer, got ${input === null ? 'null' : typeof input}`);
  }
  if (input.length === 0) throw new CertificateFormatError(`${capitalise(source)} is empty; expected a PEM private key`);
  if (!looksLikePem(input)) return readDerKey(Buffer.from(input), passphrase, source);

  const text = asLatin1(input);
  if (!PRIVATE_KEY_PEM.test(text)) {
    const labels = pemLabels(text);
    throw new CertificateFormatError(
      `${capitalise(source)} holds no private key: expected a '-----BEGIN PRIVATE KEY-----' (or RSA/EC/ENCRYPTED PRIVATE KEY) block` +
        (labels.length === 0 ? '' : `, found ${labels.map((l) => `'${l}'`).join(', ')}`),
    );
  }
  const encrypted = ENCRYPTED_PEM.test(text);
  if (encrypted && passphrase === undefined) {
    throw new CertificatePasswordError(`${capitalise(source)} is encrypted; give its passphrase`, 'missing');
  }
  try {
    // OpenSSL reads past other blocks (a certificate before the key), so a combined PEM file works as the key too.
    return createPrivateKey(passphrase === undefined ? { key: text, format: 'pem' } : { key: text, format: 'pem', passphrase });
  } catch (err) {
    throw keyError(err, encrypted, source);
  }
}

/** DER carries no label, so each encoding is tried in turn: PKCS#8 (possibly encrypted), PKCS#1, SEC1. */
function readDerKey(der: Buffer, passphrase: string | undefined, source: string): KeyObject {
  let first: unknown;
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return createPrivateKey(
        type === 'pkcs8' && passphrase !== undefined ? { key: der, format: 'der', type, passphrase } : { key: der, format: 'der', type },
      );
    } catch (err) {
      first ??= err;
      const code = (err as NodeJS.ErrnoException).code;
      // Only PKCS#8 can be encrypted, so its password failures are final.
      if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED' || code === 'ERR_OSSL_BAD_DECRYPT') {
        throw keyError(err, true, source, passphrase === undefined);
      }
    }
  }
  throw new CertificateFormatError(
    `${capitalise(source)} is not a readable private key (${(first as Error).message}); expected PEM, or DER in PKCS#8, PKCS#1 or SEC1 form`,
    { cause: first },
  );
}

function keyError(err: unknown, encrypted: boolean, source: string, missing = false): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (encrypted && code === 'ERR_OSSL_UNSUPPORTED') {
    // OpenSSL 3 moved DES, RC2 and MD5-based key encryption to its legacy provider, which Node does not load.
    return new CertificateFormatError(
      `${capitalise(source)} could not be decrypted: either the passphrase is wrong or the key is encrypted with an algorithm ` +
        'OpenSSL 3 no longer supports (such as DES or RC2); re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`',
      { cause: err },
    );
  }
  if (encrypted) {
    // Any other failure after decryption is a wrong passphrase: the wrong key turns the content into garbage, which
    // fails the padding check or, rarely, the parse that follows.
    return missing
      ? new CertificatePasswordError(`${capitalise(source)} is encrypted; give its passphrase`, 'missing', { cause: err })
      : new CertificatePasswordError(`The passphrase for ${source} is wrong`, 'incorrect', { cause: err });
  }
  return new CertificateFormatError(
    `${capitalise(source)} is not a readable private key (${(err as Error).message}); expected an unencrypted or encrypted PEM private key`,
    { cause: err },
  );
}
