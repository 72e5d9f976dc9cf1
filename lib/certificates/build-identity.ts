/**
 * The one place identities are made, so that every loader produces the same shape: a checked certificate/key pair,
 * with the key kept out of logs and serialisation.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { CertificateKeyMismatchError } from './errors.js';
import type { CertificateIdentity } from './identity.js';
import { sha1Thumbprint, sha256Thumbprint } from './thumbprint.js';

/**
 * The key lives in a private field behind a prototype getter: it reads like a property, but is not an own enumerable
 * property, so `JSON.stringify`, `Object.keys`, spreading and `console.log` never reach it. The private field also
 * brands instances, which lets {@link isIdentity} trust them without re-checking.
 */
class Identity implements CertificateIdentity {
  readonly cert: string;
  readonly thumbprint: string;
  readonly thumbprintSha256: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly #key: string;

  constructor(x509: X509Certificate, key: string) {
    this.cert = x509.toString();
    this.thumbprint = sha1Thumbprint(x509);
    this.thumbprintSha256 = sha256Thumbprint(x509);
    this.subject = formatName(x509.subject);
    this.notBefore = parseOpenSslDate(x509.validFrom);
    this.notAfter = parseOpenSslDate(x509.validTo);
    this.#key = key;
    Object.freeze(this);
  }

  get key(): string {
    return this.#key;
  }

  static has(value: object): boolean {
    return #key in value;
  }

  /** Everything but the private key. */
  toJSON(): Record<string, string> {
    return {
      subject: this.subject,
      thumbprint: this.thumbprint,
      thumbprintSha256: this.thumbprintSha256,
      notBefore: this.notBefore.toISOString(),
      notAfter: this.notAfter.toISOString(),
      cert: this.cert,
    };
  }

  // The PEM is left out too: a console full of base64 helps nobody, and the thumbprint identifies the certificate.
  [inspect.custom](_depth: number, options: object): string {
    const shown = {
      subject: this.subject,
      thumbprint: this.thumbprint,
      thumbprintSha256: this.thumbprintSha256,
      notBefore: this.notBefore,
      notAfter: this.notAfter,
    };
    return `CertificateIdentity ${inspect(shown, options)}`;
  }
}

/**
 * Pairs a certificate with its private key, after checking that the key is the certificate's.
 *
 * @param keySource where the key came from, for the mismatch message.
 * @throws {@link CertificateKeyMismatchError} when the key belongs to another certificate.
 */
export function buildIdentity(x509: X509Certificate, key: KeyObject, keySource?: string): CertificateIdentity {
  if (!keyMatches(x509, key)) {
    throw new CertificateKeyMismatchError(formatName(x509.subject), sha1Thumbprint(x509), keySource === undefined ? undefined : { keySource });
  }
  // PKCS#8 is the one PEM form every TLS stack reads, whatever the key's algorithm or how it was stored.
  return new Identity(x509, key.export({ type: 'pkcs8', format: 'pem' }) as string);
}

/** True for identities made by this module, which are known to be consistent. */
export function isIdentity(value: unknown): value is CertificateIdentity {
  return typeof value === 'object' && value !== null && Identity.has(value);
}

/** `checkPrivateKey` throws rather than answering false for some algorithm mixes (e.g. an EC key and an RSA cert). */
export function keyMatches(x509: X509Certificate, key: KeyObject): boolean {
  try {
    return x509.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/**
 * Node gives names one attribute per line in encoding order (`C=…\nO=…\nCN=…`). Windows, .NET (and so Halibut's logs)
 * and RFC 4514 show them on one line, most specific first (`CN=…, O=…, C=…`); that is what people will compare with.
 * Node already escapes commas inside values, so joining with ", " stays unambiguous.
 */
export function formatName(name: string): string {
  return name
    .split('\n')
    .filter((part) => part.length > 0)
    .reverse()
    .join(', ');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Node 20's X509Certificate gives validity only as OpenSSL text, e.g. `Nov 24 11:36:45 2126 GMT` (the Date-valued
 * `validFromDate` arrived in Node 22). Parsed explicitly rather than through `Date`'s lenient legacy parser.
 */
export function parseOpenSslDate(text: string): Date {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/u.exec(text);
  const month = m === null ? -1 : MONTHS.indexOf(m[1]!);
  if (m === null || month < 0) {
    const fallback = new Date(text);
    if (Number.isNaN(fallback.getTime())) throw new Error(`Unrecognised certificate date '${text}'`);
    return fallback;
  }
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}
