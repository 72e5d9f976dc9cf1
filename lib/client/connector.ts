/**
 * Opens one connection to an agent, step by step: dial (directly or through the proxy's tunnel), TLS with our
 * certificate, the agent's certificate checked against the pins, then Halibut identification. What comes out is
 * ready for a request; on any failure nothing is left open.
 */
import createDebug from 'debug';
import type { CertificateIdentity } from '../certificates/identity.js';
import { publishConnectionClosed, publishConnectionIdentified, publishConnectionOpened, type CallTraceContext } from '../diagnostics/channels.js';
import { ClientConnection } from '../protocol/client-connection.js';
import { proxyDialer } from '../transport/proxy/proxy-dialer.js';
import { dialTcp, type Dialer } from '../transport/tcp.js';
import { secureSocket } from '../transport/tls.js';
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

  constructor(options: ConnectorOptions) {
    this.#options = options;
  }

  /**
   * Dials, secures, pins and identifies a connection to `ep`; `signal` stops it at whichever step it is. `call` is the
   * trace context of the call the connection is opened for, passed on to the connection channels.
   */
  async open(ep: ResolvedEndpoint, signal: AbortSignal | undefined, call?: CallTraceContext): Promise<ClientConnection> {
    const { identity, limits, lookup } = this.#options;
    debug('connecting to %s', ep.url);
    const dialStarted = performance.now();
    const dial = this.#options.dialer ?? (ep.proxy === undefined ? dialTcp : proxyDialer(ep.proxy, { proxyCa: this.#options.proxyCa }));
    const raw = await dial({ host: ep.host, port: ep.port }, { connectTimeoutMs: limits.connectTimeoutMs, signal, lookup });
    const tlsStarted = performance.now();
    const tls = await secureSocket(raw, {
      cert: identity.cert,
      key: identity.key,
      pins: ep.pins,
      host: ep.host,
      endpoint: ep.url,
      via: ep.proxy === undefined ? undefined : `through proxy ${ep.proxy.display}`,
      handshakeTimeoutMs: limits.handshakeTimeoutMs,
      signal,
    });
    const connection = new ClientConnection(tls, {
      endpoint: ep.url,
      clientThumbprint: identity.thumbprint,
      timeouts: {
        identificationMs: limits.handshakeTimeoutMs,
        heartbeatMs: limits.heartbeatTimeoutMs,
        responseMs: limits.responseTimeoutMs,
        readMs: limits.readTimeoutMs,
      },
      maxMessageBytes: limits.maxMessageBytes,
      maxDepth: limits.maxDepth,
      maxElements: limits.maxElements,
      maxDecodedBytes: limits.maxDecodedBytes,
      compressionLevel: limits.compressionLevel,
      minTransferRate: { bytesPerSecond: limits.minTransferRate, windowMs: limits.transferRateWindowMs },
    });
    publishConnectionOpened(ep.url, connection.id, tls, ep.proxy?.display, { dialStarted, tlsStarted }, call);
    const onAbort = addAbortListener(signal, () => connection.destroy(abortReason(signal)));
    const identifyStarted = performance.now();
    try {
      await connection.identify();
      debug('connection %d to %s identified (%s)', connection.id, ep.url, tls.getProtocol());
      publishConnectionIdentified(ep.url, connection.id, { dialStarted, identifyStarted }, call);
      return connection;
    } catch (err) {
      connection.destroy();
      publishConnectionClosed(ep.url, connection.id, signal?.aborted === true ? 'aborted' : 'error', err as Error);
      throw err;
    } finally {
      onAbort[Symbol.dispose]();
    }
  }
}
