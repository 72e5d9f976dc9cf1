/**
 * Opens one connection to an agent, step by step: dial (directly or through the proxy's tunnel), TLS with our
 * certificate, the agent's certificate checked against the pins, then Halibut identification. What comes out is
 * ready for a request; on any failure nothing is left open. The steps are methods of their own, so that a probe
 * (probe.ts) takes them one at a time and times each.
 */
import type { Socket } from 'node:net';
import type { SecureContext, TLSSocket } from 'node:tls';
import createDebug from 'debug';
import type { CertificateIdentity } from '../certificates/identity.js';
import { publishConnectionClosed, publishConnectionIdentified, publishConnectionOpened, type CallTraceContext } from '../diagnostics/channels.js';
import { ClientConnection } from '../protocol/client-connection.js';
import { proxyDialer } from '../transport/proxy/proxy-dialer.js';
import { dialTcp, type Dialer } from '../transport/tcp.js';
import { clientSecureContext, secureSocket, type TlsOptions } from '../transport/tls.js';
import { abortReason, addAbortListener } from '../util/abort.js';
import type { ResolvedEndpoint } from './endpoint.js';
import type { HalibutClientOptions, ResolvedClientOptions } from './options.js';

const debug = createDebug('halibut:client');

/** What a {@link Connector} needs: our certificate, the time limits and limits of a connection, and how to dial. */
export interface ConnectorOptions {
  /** The certificate presented to agents. */
  identity: CertificateIdentity;
  /** Time limits and message bounds, as resolved from the client's options. */
  limits: ResolvedClientOptions;
  /** Replaces the TCP dialler (tests and tunnels). */
  dialer?: Dialer | undefined;
  /** Extra CA certificates trusted for an `https://` proxy's own certificate. */
  proxyCa?: HalibutClientOptions['proxyCa'];
  /** Resolves agent and proxy host names instead of the system resolver. */
  lookup?: HalibutClientOptions['lookup'];
}

/** Makes new, identified connections to agents (the pool decides when one is needed). */
export class Connector {
  readonly #options: ConnectorOptions;
  /** Our identity as OpenSSL holds it, made at the first connection and shared by all (see clientSecureContext). */
  #context: SecureContext | undefined;

  constructor(options: ConnectorOptions) {
    this.#options = options;
  }

  /**
   * Dials, secures, pins and identifies a connection to `ep`; `signal` stops it at whichever step it is. `call` is the
   * trace context of the call the connection is opened for, passed on to the connection channels.
   */
  async open(ep: ResolvedEndpoint, signal: AbortSignal | undefined, call?: CallTraceContext): Promise<ClientConnection> {
    debug('connecting to %s', ep.url);
    const dialStarted = performance.now();
    const raw = await this.dial(ep, signal);
    const tlsStarted = performance.now();
    const tls = await this.secure(ep, raw, signal);
    const connection = this.connection(ep, tls);
    publishConnectionOpened(ep.url, connection.id, tls, ep.proxy?.display, { dialStarted, tlsStarted }, call);
    const identifyStarted = performance.now();
    try {
      await this.identify(connection, signal);
      debug('connection %d to %s identified (%s)', connection.id, ep.url, tls.getProtocol());
      publishConnectionIdentified(ep.url, connection.id, { dialStarted, identifyStarted }, call);
      return connection;
    } catch (err) {
      publishConnectionClosed(ep.url, connection.id, signal?.aborted === true ? 'aborted' : 'error', err as Error);
      throw err;
    }
  }

  /** The first step: a socket to the agent, over TCP or through the endpoint's proxy tunnel, within `connectTimeoutMs`. */
  dial(ep: ResolvedEndpoint, signal: AbortSignal | undefined): Promise<Socket> {
    const { limits, lookup } = this.#options;
    const dial = this.#options.dialer ?? (ep.proxy === undefined ? dialTcp : proxyDialer(ep.proxy, { proxyCa: this.#options.proxyCa }));
    return dial({ host: ep.host, port: ep.port }, { connectTimeoutMs: limits.connectTimeoutMs, signal, lookup });
  }

  /**
   * The second step: TLS over `raw` with our certificate, the agent's certificate checked against the pins. `inspect`
   * sees the agent's certificate before the pin check (see `TlsOptions.inspect`). On failure `raw` is destroyed.
   */
  secure(ep: ResolvedEndpoint, raw: Socket, signal: AbortSignal | undefined, inspect?: TlsOptions['inspect']): Promise<TLSSocket> {
    const { identity, limits } = this.#options;
    this.#context ??= clientSecureContext({ cert: identity.cert, key: identity.key });
    return secureSocket(raw, {
      cert: identity.cert,
      key: identity.key,
      secureContext: this.#context,
      pins: ep.pins,
      host: ep.host,
      endpoint: ep.url,
      via: ep.proxy === undefined ? undefined : `through proxy ${ep.proxy.display}`,
      handshakeTimeoutMs: limits.handshakeTimeoutMs,
      signal,
      inspect,
    });
  }

  /**
   * A connection over a pinned TLS socket, not yet identified, with the client's limits; `responseMs` replaces the
   * wait for a response's first byte (a probe's request is answered at once, not after a method has run).
   */
  connection(ep: ResolvedEndpoint, tls: TLSSocket, responseMs?: number): ClientConnection {
    const { identity, limits } = this.#options;
    return new ClientConnection(tls, {
      endpoint: ep.url,
      clientThumbprint: identity.thumbprint,
      timeouts: {
        identificationMs: limits.handshakeTimeoutMs,
        heartbeatMs: limits.heartbeatTimeoutMs,
        responseMs: responseMs ?? limits.responseTimeoutMs,
        readMs: limits.readTimeoutMs,
      },
      maxMessageBytes: limits.maxMessageBytes,
      maxDepth: limits.maxDepth,
      maxElements: limits.maxElements,
      maxDecodedBytes: limits.maxDecodedBytes,
      compressionLevel: limits.compressionLevel,
      minTransferRate: { bytesPerSecond: limits.minTransferRate, windowMs: limits.transferRateWindowMs },
    });
  }

  /** The last step: Halibut identification; `signal` destroys the connection. On failure the connection is destroyed. */
  async identify(connection: ClientConnection, signal: AbortSignal | undefined): Promise<void> {
    const onAbort = addAbortListener(signal, () => connection.destroy(abortReason(signal)));
    try {
      await connection.identify();
    } catch (err) {
      connection.destroy();
      throw err;
    } finally {
      onAbort[Symbol.dispose]();
    }
  }
}
