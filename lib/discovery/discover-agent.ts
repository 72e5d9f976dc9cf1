/**
 * Discovery: connect to a listening agent the way Halibut's DiscoveryClient does — no client certificate, any
 * server certificate accepted — to learn what it presents, so that a person can decide to pin it.
 *
 * It goes further than DiscoveryClient in what it reports (TLS version, the certificate's names and validity, the
 * page the agent answers with), which is what a troubleshooting probe needs. It never sends a request.
 */
import type { Socket } from 'node:net';
import { proxyDialer } from '../transport/proxy/proxy-dialer.js';
import { resolveProxy, type ProxyOption } from '../transport/proxy/proxy-settings.js';
import { dialTcp } from '../transport/tcp.js';
import { TlsHandshakeError } from '../transport/errors.js';
import { readFriendlyPage, type FriendlyPage } from './friendly-page.js';
import { describeCertificate, type PresentedCertificate } from '../certificates/presented.js';
import { handshakeWithoutVerification } from './unverified-tls.js';

/** Options for {@link discoverAgent}. Times are milliseconds. */
export interface DiscoverOptions {
  /** How to reach the agent: a proxy URL, `'env'`, or `false` (default) for direct. As the client's `proxy`. */
  proxy?: ProxyOption | undefined;
  /** TCP connect (and proxy tunnel) deadline. Default 60 000, as the client's. */
  connectTimeoutMs?: number | undefined;
  /** TLS handshake deadline. Default 60 000, as the client's. */
  handshakeTimeoutMs?: number | undefined;
  /** Whether to send `HELLO` and read the page the agent answers with. Default true. */
  readPage?: boolean | undefined;
  /** How long to wait for the page. Default 5 000; a page that does not finish in time is returned as it stands. */
  pageTimeoutMs?: number | undefined;
  /** Largest page kept. Default 64 KiB (a Tentacle's is under 2 KiB). */
  maxPageBytes?: number | undefined;
  /** Aborts the discovery. */
  signal?: AbortSignal | undefined;
}

/** What {@link discoverAgent} learned. Nothing in it has been verified: it is what the peer claims. */
export interface DiscoveredAgent {
  /** The URL as normalised: `https://host:port/`. */
  url: string;
  /** The host name or IP address (IPv6 without brackets). */
  host: string;
  /** The TCP port. */
  port: number;
  /** The proxy the connection went through (`scheme://host:port`, never with credentials), if any. */
  proxy: string | undefined;
  /** Negotiated TLS version, e.g. `TLSv1.3`. */
  tlsVersion: string;
  /** Negotiated cipher suite (OpenSSL's name). */
  cipher: string;
  /** The certificate the agent presented. Its `thumbprint` is what to pin. */
  certificate: PresentedCertificate;
  /** The answer to `HELLO`, or undefined if not asked for or nothing came back. */
  page: FriendlyPage | undefined;
}

const DEFAULTS = { connectTimeoutMs: 60_000, handshakeTimeoutMs: 60_000, pageTimeoutMs: 5_000, maxPageBytes: 64 * 1024 };

/** Where an agent URL points: host (IPv6 without brackets), port, and the normalised URL. */
export function parseAgentUrl(url: string): {
  /** `https://host:port/`. */
  url: string;
  /** The host name or IP address (IPv6 without brackets). */
  host: string;
  /** The TCP port (443 when the URL has none). */
  port: number;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`Not a valid agent URL: '${url}'`);
  }
  if (parsed.protocol !== 'https:') throw new TypeError(`A listening agent's URL must start with https:// (got '${url}')`);
  const port = parsed.port === '' ? 443 : Number(parsed.port);
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  return { url: `https://${parsed.hostname.toLowerCase()}:${port}/`, host, port };
}

/**
 * Connects to the agent at `url` (through a proxy if asked), completes a TLS handshake without a client
 * certificate and without verifying the agent, and reports the certificate it presented and the page it serves.
 *
 * The result is unauthenticated information: show the thumbprint to a person, or compare it to one obtained
 * out of band; do not pin it blindly where an attacker could be in the path.
 *
 * @throws `TypeError` for a URL that is not `https://…`; `ConnectError`, `HostNotFoundError`,
 *   `PhaseTimeoutError` (`connect`, `proxy`, `handshake`), `NotTlsError`, `TlsHandshakeError` and the proxy errors,
 *   exactly as the client raises them.
 */
export async function discoverAgent(url: string, options: DiscoverOptions = {}): Promise<DiscoveredAgent> {
  const target = parseAgentUrl(url);
  const connectTimeoutMs = positive(options.connectTimeoutMs, 'connectTimeoutMs') ?? DEFAULTS.connectTimeoutMs;
  const handshakeTimeoutMs = positive(options.handshakeTimeoutMs, 'handshakeTimeoutMs') ?? DEFAULTS.handshakeTimeoutMs;
  const pageTimeoutMs = positive(options.pageTimeoutMs, 'pageTimeoutMs') ?? DEFAULTS.pageTimeoutMs;
  const maxPageBytes = positive(options.maxPageBytes, 'maxPageBytes') ?? DEFAULTS.maxPageBytes;
  const proxy = resolveProxy(options.proxy, target.host, target.port);
  const dial = proxy === undefined ? dialTcp : proxyDialer(proxy);
  const signal = options.signal;

  const socket: Socket = await dial({ host: target.host, port: target.port }, { connectTimeoutMs, signal });
  const tls = await handshakeWithoutVerification(socket, {
    host: target.host,
    endpoint: target.url,
    via: proxy === undefined ? undefined : `through proxy ${proxy.display}`,
    timeoutMs: handshakeTimeoutMs,
    signal,
  });
  try {
    const peer = tls.getPeerCertificate();
    if (peer === null || peer.raw === undefined) throw new TlsHandshakeError(`The agent at ${target.url} presented no certificate`);
    const certificate = describeCertificate(peer.raw);
    const tlsVersion = tls.getProtocol() ?? 'unknown';
    const cipher = tls.getCipher().name;
    const page = options.readPage === false ? undefined : await readFriendlyPage(tls, { maxBytes: maxPageBytes, timeoutMs: pageTimeoutMs });
    signal?.throwIfAborted();
    return { url: target.url, host: target.host, port: target.port, proxy: proxy?.display, tlsVersion, cipher, certificate, page };
  } finally {
    tls.on('error', () => undefined);
    tls.destroy();
    socket.destroy();
  }
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`Option ${name} must be a positive number of milliseconds`);
  return value;
}

