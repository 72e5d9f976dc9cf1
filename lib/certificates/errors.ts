/**
 * Errors raised while creating or loading certificates.
 *
 * Every message names the file or data it is about and says what was expected. None ever contains a private key, a
 * passphrase or a password: these messages end up in logs and deployment output.
 */
import { HalibutError } from '../errors.js';

/** The private key does not belong to the certificate it was loaded with. */
export class CertificateKeyMismatchError extends HalibutError {
  readonly code = 'ERR_CERTIFICATE_KEY_MISMATCH' as const;
  constructor(
    /** The certificate's subject, e.g. `CN=Octopus Tentacle`. */
    readonly subject: string,
    /** The certificate's SHA-1 thumbprint (40 uppercase hex). */
    readonly thumbprint: string,
    options?: {
      /** Where the key came from, e.g. `key file '/etc/halibut/client.key'` or `PFX file 'client.pfx'`. */
      keySource?: string;
      cause?: unknown;
    },
  ) {
    super(
      `The private key${options?.keySource === undefined ? '' : ` in ${options.keySource}`} does not belong to the certificate ` +
        `'${subject}' (thumbprint ${thumbprint}); load the key that was created together with this certificate`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/** A PFX password or a PEM key's passphrase is wrong, or was needed and not given. */
export class CertificatePasswordError extends HalibutError {
  readonly code = 'ERR_CERTIFICATE_PASSWORD' as const;
  constructor(
    message: string,
    /** `missing` when none was given but one is needed; `incorrect` when the one given does not open it. */
    readonly reason: 'missing' | 'incorrect',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The data is not a certificate or key this library can read: corrupt or truncated, the wrong kind of file, a PFX
 * without a private key or without a certificate, or an algorithm that is not supported.
 */
export class CertificateFormatError extends HalibutError {
  readonly code = 'ERR_CERTIFICATE_FORMAT' as const;
}

/** A value given as a certificate thumbprint is not a SHA-1 thumbprint (40 hexadecimal digits). */
export class InvalidThumbprintError extends HalibutError {
  readonly code = 'ERR_INVALID_THUMBPRINT' as const;
  constructor(
    /** The value as it was given (converted to a string). */
    readonly value: string,
    detail: string,
  ) {
    super(`Not a certificate thumbprint: ${printable(value)} (${detail})`);
  }
}

/**
 * Quotes a value with invisible and control characters spelled out: thumbprints copied from Windows dialogs carry
 * marks such as U+200E that would otherwise make the message look as if the value were fine.
 */
function printable(value: string): string {
  const shown = value.length > 100 ? `${value.slice(0, 100)}…` : value;
  return `'${shown.replace(/[^\x20-\x7E]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`)}'`;
}
