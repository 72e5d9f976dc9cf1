/**
 * Pinning: the agent's certificate is accepted only if its SHA-1 thumbprint is one of the endpoint's pins.
 *
 * This is Halibut's whole trust model: chain, host name and expiry are deliberately not checked (Tentacles present
 * self-signed certificates), so the pin is the only thing standing between a client and an impostor.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { HalibutError } from '../errors.js';
import { formatName } from './build-identity.js';
import { normalizeThumbprint } from './thumbprint.js';

/** The agent presented a certificate whose thumbprint is not among the endpoint's pins. Never retried. */
export class CertificateMismatchError extends HalibutError {
  readonly code = 'ERR_CERTIFICATE_MISMATCH';
  constructor(
    /** The endpoint URL that was dialled. */
    readonly endpoint: string,
    /** The thumbprints that would have been accepted. */
    readonly expected: readonly string[],
    /** The thumbprint the agent presented. */
    readonly actual: string,
    /** The subject of the certificate the agent presented. */
    readonly subject: string,
  ) {
    super(
      `The agent at ${endpoint} presented an unexpected certificate: expected thumbprint ${expected.length === 1 ? `'${expected[0]}'` : `one of ${expected.map((t) => `'${t}'`).join(', ')}`}, ` +
        `but it presented '${actual}' (subject '${subject}'). If the agent's certificate was replaced, update the pinned thumbprint; otherwise something else is answering on that address.`,
    );
  }
}

/** Normalises a pin or list of pins; throws on anything that is not a SHA-1 thumbprint. */
export function normalizePins(pins: string | readonly string[]): string[] {
  const list = typeof pins === 'string' ? [pins] : [...pins];
  if (list.length === 0) throw new TypeError('An endpoint needs at least one pinned thumbprint');
  return list.map(normalizeThumbprint);
}

/** Checks a peer certificate (DER) against normalised pins; returns its thumbprint or throws. */
export function checkPin(peerDer: Buffer, pins: readonly string[], endpoint: string): string {
  const actual = createHash('sha1').update(peerDer).digest('hex').toUpperCase();
  if (pins.includes(actual)) return actual;
  let subject = '(unreadable)';
  try {
    subject = formatName(new X509Certificate(peerDer).subject);
  } catch {
    // A certificate OpenSSL accepted in the handshake but X509Certificate cannot parse: still a mismatch.
  }
  throw new CertificateMismatchError(endpoint, pins, actual, subject);
}
