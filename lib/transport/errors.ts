import { HalibutError } from '../errors.js';

/** A {@link ConnectError}'s code. */
export type ConnectErrorCode = 'ERR_CONNECT' | 'ERR_HOST_NOT_FOUND';

/** A {@link TlsHandshakeError}'s code. */
export type TlsHandshakeErrorCode = 'ERR_TLS_HANDSHAKE' | 'ERR_NOT_TLS';

/** A {@link ProxyError}'s code: its own or one of its subclasses'. */
export type ProxyErrorCode = 'ERR_PROXY' | 'ERR_PROXY_AUTHENTICATION' | 'ERR_PROXY_REFUSED' | 'ERR_PROXY_PROTOCOL';

/** The TCP connection could not be established (refused, unreachable, reset). Safe to retry: nothing was sent. */
export class ConnectError extends HalibutError {
  readonly code: ConnectErrorCode = 'ERR_CONNECT';
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
  override readonly code = 'ERR_HOST_NOT_FOUND' as const;
}

/** The TLS handshake failed (reset, protocol mismatch, the peer rejected our certificate at the TLS layer). */
export class TlsHandshakeError extends HalibutError {
  readonly code: TlsHandshakeErrorCode = 'ERR_TLS_HANDSHAKE';
}

/** The peer does not speak TLS at all: most likely a plain HTTP server or another protocol on that port. */
export class NotTlsError extends TlsHandshakeError {
  override readonly code = 'ERR_NOT_TLS' as const;
}

/** Talking to the proxy failed. `proxy` names it without credentials; the password never appears anywhere. */
export class ProxyError extends HalibutError {
  readonly code: ProxyErrorCode = 'ERR_PROXY';
  constructor(
    message: string,
    /** The proxy, as `scheme://host:port` (never with credentials). */
    readonly proxy: string,
    /** The HTTP status the proxy answered with, when it answered with one. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The proxy wants (other) credentials: HTTP 407, or a SOCKS5 authentication failure. */
export class ProxyAuthenticationError extends ProxyError {
  override readonly code = 'ERR_PROXY_AUTHENTICATION' as const;
  /** Authentication schemes the proxy offered (from `Proxy-Authenticate`), e.g. `['Basic', 'Negotiate']`. */
  schemes: readonly string[] = [];
}

/** The proxy would not, or could not, reach the agent (HTTP 403, 502, 503…, or a SOCKS5 refusal). */
export class ProxyRefusedError extends ProxyError {
  override readonly code = 'ERR_PROXY_REFUSED' as const;
}

/** The proxy answered with something that is not HTTP or SOCKS5, or closed the connection mid-answer. */
export class ProxyProtocolError extends ProxyError {
  override readonly code = 'ERR_PROXY_PROTOCOL' as const;
}
