/**
 * A TLS handshake that verifies NOTHING about the peer and presents no certificate of ours.
 *
 * This is the only place in the library that accepts any server certificate, and it exists for one purpose: to
 * learn which certificate an agent presents, as Halibut's DiscoveryClient does. The socket it returns must never
 * carry a request: the caller reads the certificate, optionally the friendly page, and closes it. Every trusted
 * connection goes through `lib/transport/tls.ts`, which pins.
 */
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { PhaseTimeoutError } from '../errors.js';
import { NotTlsError, TlsHandshakeError } from '../transport/errors.js';

export interface UnverifiedHandshakeOptions {
  /** The host name in the URL; sent as SNI unless it is an IP literal (a load balancer may route on it). */
  host: string;
  /** For messages. */
  endpoint: string;
  /** For messages: e.g. `through proxy http://proxy:3128`. */
  via: string | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** OpenSSL reasons meaning that what came back was not TLS at all (kept in step with lib/transport/tls.ts). */
const NOT_TLS_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

/**
 * Runs a TLS handshake over `socket` without a client certificate and without checking the server's certificate.
 * Destroys the socket on failure. The result is for inspection only — see the module comment.
 */
export function handshakeWithoutVerification(socket: Socket, options: UnverifiedHandshakeOptions): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      minVersion: 'TLSv1.2',
      // Deliberate: we want whatever certificate the agent presents, so that a person can decide to pin it.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
    });
    let settled = false;
    const via = options.via === undefined ? '' : ` (${options.via})`;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      tls.off('secureConnect', onSecure);
      tls.off('error', onError);
      tls.off('close', onClose);
      if (err === undefined) {
        resolve(tls);
      } else {
        // Errors after this point (a late reset) have nobody to report to; keep them from crashing the process.
        tls.on('error', () => undefined);
        tls.destroy();
        socket.destroy();
        reject(err);
      }
    };
    const onSecure = (): void => finish();
    const onError = (err: NodeJS.ErrnoException): void => {
      if (NOT_TLS_CODES.has(err.code ?? '')) {
        finish(
          new NotTlsError(
            `The peer at ${options.endpoint}${via} did not answer with TLS (${err.message.trim()}); it is probably a plain HTTP server or another protocol, not a listening Tentacle`,
            { cause: err },
          ),
        );
      } else {
        finish(new TlsHandshakeError(`The TLS handshake with ${options.endpoint}${via} failed: ${err.message.trim()}`, { cause: err }));
      }
    };
    const onClose = (): void => finish(new TlsHandshakeError(`The peer at ${options.endpoint}${via} closed the connection during the TLS handshake`));
    const onAbort = (): void => finish(options.signal?.reason instanceof Error ? options.signal.reason : new Error('Aborted'));
    const timer = setTimeout(
      () => finish(new PhaseTimeoutError('handshake', options.timeoutMs, `no TLS handshake with ${options.endpoint}`)),
      options.timeoutMs,
    );
    tls.once('secureConnect', onSecure);
    tls.once('error', onError);
    tls.once('close', onClose);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted === true) onAbort();
  });
}
