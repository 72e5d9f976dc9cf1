import { HalibutError } from '../errors.js';

/** The TCP connection could not be established (refused, unreachable, reset). Safe to retry: nothing was sent. */
export class ConnectError extends HalibutError {
  readonly code: string = 'ERR_CONNECT';
  constructor(
    message: string,
    /** The operating system's error code, e.g. `ECONNREFUSED`. */
    readonly syscallCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The host name does not resolve. Not retried: waiting will not make the name exist. */
export class HostNotFoundError extends ConnectError {
  override readonly code: string = 'ERR_HOST_NOT_FOUND';
}

/** The TLS handshake failed (reset, protocol mismatch, the peer rejected our certificate at the TLS layer). */
export class TlsHandshakeError extends HalibutError {
  readonly code: string = 'ERR_TLS_HANDSHAKE';
}

/** The peer does not speak TLS at all: most likely a plain HTTP server or another protocol on that port. */
export class NotTlsError extends TlsHandshakeError {
  override readonly code: string = 'ERR_NOT_TLS';
}
