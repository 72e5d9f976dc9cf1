/**
 * Reading certificates from PEM text or DER bytes. Internal: the public entry points are the loaders and thumbprint
 * functions, which decide what "where it came from" is called in messages.
 */
import { X509Certificate } from 'node:crypto';
import { CertificateFormatError } from './errors.js';

// "X509 CERTIFICATE" is an old OpenSSL label for the same content; both still turn up in exported files.
const CERTIFICATE_BLOCK = /-----BEGIN (?:X509 )?CERTIFICATE-----([\s\S]*?)-----END (?:X509 )?CERTIFICATE-----/gu;
const ANY_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/gu;

/** Text or bytes as given by a caller; bytes may be PEM text or binary DER. */
export type CertificateInput = string | Buffer | Uint8Array;

/** True when the input is (or starts with, after whitespace or preamble) PEM text rather than binary DER. */
export function looksLikePem(input: CertificateInput): boolean {
  return asLatin1(input).includes('-----BEGIN ');
}

/** The PEM block labels in the input, for messages such as "found PRIVATE KEY but no CERTIFICATE". */
export function pemLabels(text: string): string[] {
  return [...text.matchAll(ANY_LABEL)].map((m) => m[1]!);
}

/**
 * The DER of every certificate in the input, in order. PEM may hold a chain and other blocks (a key, the "Bag
 * Attributes" preambles `openssl pkcs12` writes); DER bytes are one certificate.
 */
export function certificateDers(input: CertificateInput, source: string): Buffer[] {
  checkInput(input, source);
  if (!looksLikePem(input)) {
    if (typeof input === 'string') {
      throw new CertificateFormatError(
        `${capitalise(source)} is not a certificate: expected PEM text starting with '-----BEGIN CERTIFICATE-----', or the DER bytes of one`,
      );
    }
    return [Buffer.from(input.buffer, input.byteOffset, input.byteLength)];
  }
  // PEM is ASCII, so reading bytes as Latin-1 cannot corrupt it; decoding the body ourselves tolerates CRLF,
  // indentation and the old label, which OpenSSL's PEM reader is pickier about.
  const text = asLatin1(input);
  const bodies = [...text.matchAll(CERTIFICATE_BLOCK)].map((m) => m[1]!);
  if (bodies.length === 0) {
    const labels = pemLabels(text);
    throw new CertificateFormatError(
      `${capitalise(source)} holds no certificate: expected a '-----BEGIN CERTIFICATE-----' block` +
        (labels.length === 0 ? '' : `, found ${labels.map((l) => `'${l}'`).join(', ')}`),
    );
  }
  return bodies.map((body) => Buffer.from(body, 'base64'));
}

/** Parses the first certificate in the input: the leaf, by the universal convention for chain files. */
export function readLeafCertificate(input: CertificateInput, source: string): X509Certificate {
  return parseCertificate(certificateDers(input, source)[0]!, source);
}

/** Parses one DER certificate, turning OpenSSL's complaint into a {@link CertificateFormatError}. */
export function parseCertificate(der: Buffer, source: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw new CertificateFormatError(
      `${capitalise(source)} is not a readable X.509 certificate (${(err as Error).message}); expected a PEM or DER certificate` +
        ' (for .pfx/.p12 files use loadPfx)',
      { cause: err },
    );
  }
}

function checkInput(input: unknown, source: string): asserts input is CertificateInput {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TypeError(`${capitalise(source)} must be a string or a Buffer, got ${input === null ? 'null' : typeof input}`);
  }
  if (input.length === 0) throw new CertificateFormatError(`${capitalise(source)} is empty; expected a PEM or DER certificate`);
}

/** Bytes as a string without decoding errors; enough to find ASCII PEM markers in any file. */
export function asLatin1(input: CertificateInput): string {
  return typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
}

/** Messages put the source first; sources are written in lower case so they also read well mid-sentence. */
export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
