/**
 * Mutual TLS on top of a dialled socket, with the agent's certificate pinned by thumbprint before any application
 * byte is written.
 */
import { isIP, type Socket } from 'node:net';
import { constants, type X509Certificate } from 'node:crypto';
import { connect as tlsConnect, createSecureContext, type ConnectionOptions, type SecureContext, type TLSSocket } from 'node:tls';
import createDebug from 'debug';
import { checkPin } from '../certificates/pinning.js';
import { PhaseTimeoutError } from '../errors.js';
import { abortReason, isAborted, withDeadline } from '../util/abort.js';
import { NotTlsError, TlsHandshakeError } from './errors.js';
import { ticketWaitMs, watchSessionTickets } from './session-tickets.js';

const debug = createDebug('halibut:transport');

/** What a client's TLS context is made of: our identity and the versions offered. */
export interface ClientContextOptions {
  /** Our certificate and private key (PEM), presented to the agent. */
  cert: string;
  key: string;
  /** Lowest TLS version offered. Default TLS 1.2; never lower. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Highest TLS version offered. Default TLS 1.3. */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/**
 * The TLS context of a client: made once and shared by all its connections. Without it, every connection has
 * OpenSSL parse our certificate and private key again (about a millisecond of CPU), and holds its own copy of them
 * for as long as it is open; with thousands of agents both add up.
 */
export function clientSecureContext(options: ClientContextOptions): SecureContext {
  return createSecureContext({
    cert: options.cert,
    key: options.key,
    minVersion: options.minVersion ?? 'TLSv1.2',
    ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
    // The pin is checked on the first handshake; a renegotiation could present another certificate afterwards.
    // Halibut listeners never renegotiate, so it is refused: the connection then ends with an error.
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  });
}

export interface TlsOptions extends ClientContextOptions {
  /**
   * The context made by {@link clientSecureContext} from this client's `cert`, `key` and versions; made for this
   * connection alone when absent. A given context must have been made from these options: they are not applied again.
   */
  secureContext?: SecureContext | undefined;
  /** Normalised SHA-1 thumbprints the agent may present. */
  pins: readonly string[];
  /** The host name the endpoint URL names; sent as SNI unless it is an IP literal. */
  host: string;
  /** For messages. */
  endpoint: string;
  /** For messages: how the connection got there, e.g. `through proxy http://proxy:3128`. */
  via?: string | undefined;
  handshakeTimeoutMs: number;
  signal?: AbortSignal | undefined;
  /**
   * The longest wait for TLS 1.3 session tickets before identification (see `session-tickets.ts`). Default: derived
   * from the handshake's duration, at most 40 ms.
   */
  sessionTicketWaitMs?: number | undefined;
  /**
   * Sees the agent's certificate and the socket once the handshake completes, before the pin is checked, so that a
   * probe can report what was presented even when it is not the pinned one. It must not write.
   */
  inspect?: ((tls: TLSSocket, peer: X509Certificate) => void) | undefined;
}

/** What a handshake's errors and timeout are reported against. */
export interface HandshakeContext {
  endpoint: string;
  via?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** OpenSSL reasons that mean the bytes coming back were not TLS records at all. */
const NOT_TLS_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

/**
 * Runs the TLS handshake over `socket` and checks the pin. Destroys the socket on any failure. Under TLS 1.3 it also
 * starts watching for the session tickets, which identification waits for (`ticketsSettled`).
 */
export async function secureSocket(socket: Socket, options: TlsOptions): Promise<TLSSocket> {
  const started = performance.now();
  const tls = await runHandshake(
    socket,
    {
      // Our identity, the versions offered and the refusal of renegotiation are all in the context.
      secureContext: options.secureContext ?? clientSecureContext(options),
      // Trust is decided by the pin alone, as Halibut does; chain and name checks would reject every Tentacle.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
      ...(isIP(options.host) === 0 ? { servername: options.host } : {}),
    },
    { endpoint: options.endpoint, via: options.via, timeoutMs: options.handshakeTimeoutMs, signal: options.signal },
    (tls) => {
      // The certificate as OpenSSL holds it: cheaper than getPeerCertificate(), which builds an object of every field.
      const peer = tls.getPeerX509Certificate();
      if (peer === undefined) throw new TlsHandshakeError(`The agent at ${options.endpoint} presented no certificate`);
      options.inspect?.(tls, peer);
      checkPin(peer.raw, options.pins, options.endpoint);
    },
  );
  // Still in the turn that completed the handshake: the tickets cannot have been read yet.
  const protocol = tls.getProtocol();
  watchSessionTickets(tls, protocol === 'TLSv1.3' ? (options.sessionTicketWaitMs ?? ticketWaitMs(protocol, performance.now() - started)) : 0);
  return tls;
}

/**
 * The handshake itself, with its deadline, abort and error naming. `verify` runs once the handshake completes and
 * before the socket is handed out; throwing from it fails the handshake. Exported for agent discovery, whose
 * `verify` checks nothing because its purpose is to learn the certificate; every call path pins through
 * {@link secureSocket}.
 */
export function runHandshake(socket: Socket, connect: ConnectionOptions, context: HandshakeContext, verify: (tls: TLSSocket) => void): Promise<TLSSocket> {
  const via = (dropped: boolean): string => (context.via === undefined ? '' : ` (${context.via}${dropped ? ': the proxy may have dropped the tunnel' : ''})`);
  const expired = (): Error => new PhaseTimeoutError('handshake', context.timeoutMs, `no TLS handshake with ${context.endpoint}`);
  if (isAborted(context.signal)) {
    // The socket is ours to dispose of on every failure, this one included.
    socket.destroy();
    return Promise.reject(abortReason(context.signal));
  }
  return withDeadline<TLSSocket>({ timeoutMs: context.timeoutMs, expired }, context.signal, (settle) => {
    const tls = tlsConnect({ ...connect, socket });
    const onSecure = (): void => {
      try {
        verify(tls);
        settle.resolve(tls);
      } catch (err) {
        settle.reject(err as Error);
      }
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? '';
      if (NOT_TLS_CODES.has(code)) {
        settle.reject(
          new NotTlsError(
            `The peer at ${context.endpoint}${via(false)} did not answer with TLS (${err.message.trim()}); it is probably a plain HTTP server or another protocol, not a listening Tentacle`,
            { cause: err },
          ),
        );
      } else {
        const dropped = code === 'ECONNRESET' || /disconnected/.test(err.message);
        settle.reject(new TlsHandshakeError(`The TLS handshake with ${context.endpoint}${via(dropped)} failed: ${err.message.trim()}`, { cause: err }));
      }
    };
    const onClose = (): void => settle.reject(new TlsHandshakeError(`The peer at ${context.endpoint} closed the connection during the TLS handshake${via(true)}`));
    tls.once('secureConnect', onSecure);
    tls.once('error', onError);
    tls.once('close', onClose);
    return (failure) => {
      tls.off('secureConnect', onSecure);
      tls.off('error', onError);
      tls.off('close', onClose);
      if (failure === undefined) {
        debug('TLS %s with %s', tls.getProtocol(), context.endpoint);
        return;
      }
      debug('TLS with %s failed: %s', context.endpoint, failure.message);
      // A late error (a reset after we gave up) has nobody to report to; keep it from crashing the process.
      tls.on('error', () => undefined);
      tls.destroy();
      socket.destroy();
    };
  });
}
