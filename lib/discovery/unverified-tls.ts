/**
 * A TLS handshake that verifies NOTHING about the peer and presents no certificate of ours.
 *
 * This is the only place in the library that accepts any server certificate, and it exists for one purpose: to
 * learn which certificate an agent presents, as Halibut's DiscoveryClient does. The socket it returns must never
 * carry a request: the caller reads the certificate, optionally the friendly page, and closes it. Every trusted
 * connection goes through `secureSocket` in `lib/transport/tls.ts`, which pins.
 */
import { isIP, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { runHandshake } from '../transport/tls.js';

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

/**
 * Runs a TLS handshake over `socket` without a client certificate and without checking the server's certificate.
 * Destroys the socket on failure. The result is for inspection only — see the module comment.
 */
export function handshakeWithoutVerification(socket: Socket, options: UnverifiedHandshakeOptions): Promise<TLSSocket> {
  return runHandshake(
    socket,
    {
      minVersion: 'TLSv1.2',
      // Deliberate: we want whatever certificate the agent presents, so that a person can decide to pin it.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
    },
    { endpoint: options.endpoint, via: options.via, timeoutMs: options.timeoutMs, signal: options.signal },
    () => undefined,
  );
}
