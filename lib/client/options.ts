import { DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_ELEMENTS } from '../protocol/bson.js';
import type { LookupFunction } from 'node:net';
import { toIdentity, type CertificateIdentity } from '../certificates/identity.js';
import { parseProxy, type ProxyOption } from '../transport/proxy/proxy-settings.js';
import type { Dialer } from '../transport/tcp.js';
import { resolveRetry, RETRY_DEFAULTS, type ResolvedRetryOptions, type RetryOptions } from './retry.js';

/** Our certificate: what the certificate loaders return, or a PEM certificate and key. */
export type ClientCertificate =
  | CertificateIdentity
  | {
      /** The PEM certificate (chain). */
      cert: string | Buffer;
      /** The PEM private key. */
      key: string | Buffer;
      /** The key's passphrase, when it is encrypted. */
      passphrase?: string;
    };

/** Everything a {@link HalibutClient} can be told. Times are in milliseconds; defaults follow Halibut. */
export interface HalibutClientOptions {
  /** The certificate the client presents; the agent must trust its thumbprint. */
  certificate: ClientCertificate;
  /** TCP connect deadline. Default 60 000 (Halibut's `TcpClientConnectTimeout`). */
  connectTimeoutMs?: number;
  /** TLS handshake, and separately identification (`MX-CLIENT` → `MX-SERVER`). Default 60 000. */
  handshakeTimeoutMs?: number;
  /** NEXT/PROCEED on a pooled connection, and END. Default 60 000 (`TcpClientHeartbeatTimeout`). */
  heartbeatTimeoutMs?: number;
  /** Wait for the first byte of a response: the longest a method may run. Default 600 000. */
  responseTimeoutMs?: number;
  /** Any other read that makes no progress (the rest of a response, data streams). Default 600 000. */
  readTimeoutMs?: number;
  /**
   * The fewest bytes per second an agent must move, on average over {@link transferRateWindowMs} of waiting for it,
   * once a response has begun: the rest of the response message and each data stream, down or up (like curl's
   * low-speed limit). Only time spent waiting for the agent counts, not time the caller takes to consume a download.
   * Below it the call fails with `ERR_TIMEOUT` in phase `read` (or `write`). 0 turns the floor off. Default 1024.
   */
  minTransferRate?: number;
  /** The window {@link minTransferRate} is averaged over, ms. Default 30 000. */
  transferRateWindowMs?: number;
  /** Largest decompressed message accepted. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Deepest nesting of documents and arrays accepted in a message. Default 64 (Json.NET's). */
  maxDepth?: number;
  /** Most elements (values at every depth, documents and arrays included) accepted in one message. Default 2 000 000. */
  maxElements?: number;
  /** Most memory one decoded message may take, as estimated element by element while it is decoded. Default 64 MiB. */
  maxDecodedBytes?: number;
  /**
   * Connections of all endpoints together (in use, idle and opening). When it is reached, the least recently used
   * idle connection (of another endpoint) is closed to make room; when none is idle, further calls wait, served in
   * arrival order across endpoints. Default 4096: enough to keep a connection to each of thousands of agents
   * pooled, and to run that many calls at once, yet a bound on the sockets (file descriptors) and memory a fleet
   * can take: 200–400 MiB at the 45–100 KiB an idle connection costs. Beyond it a call to an agent with no idle
   * connection costs one new connection, as it would after {@link maxIdleTimeMs}.
   */
  maxConnections?: number;
  /** Connections per endpoint (in use, idle and opening); further calls wait. Default 16. */
  maxConnectionsPerEndpoint?: number;
  /** How long a call may wait for a free connection when all are busy. Default 120 000. */
  waitQueueTimeoutMs?: number;
  /** Idle connections kept per endpoint. Default 5 (Halibut's). */
  maxIdlePerEndpoint?: number;
  /**
   * Idle connections older than this are closed, below current Tentacles' 60 s cutoff; an endpoint left with no
   * connection and no waiting call is forgotten after as long. Default 50 000.
   */
  maxIdleTimeMs?: number;
  /** zlib level for outgoing messages, 0–9. Default 6 (what .NET's `Optimal` corresponds to). */
  compressionLevel?: number;
  /**
   * How to reach agents: a proxy URL (`http://`, `https://`, `socks5://`) or `{ url, username, password }`; `'env'`
   * to follow HTTPS_PROXY / ALL_PROXY / NO_PROXY; `false` (the default) to connect directly. An endpoint's own
   * `proxy` overrides this.
   */
  proxy?: ProxyOption;
  /** Resolves agent and proxy host names instead of the system resolver (the contract of `net.connect`'s `lookup`). */
  lookup?: LookupFunction;
  /** Extra CA certificates trusted for an `https://` proxy's own certificate. */
  proxyCa?: string | Buffer | Array<string | Buffer>;
  /** How failures before the request began are retried; `false` to never retry. Defaults follow Halibut. */
  retry?: RetryOptions | false;
  /** @internal Replaces the TCP dialler (proxy tunnels plug in here). */
  dialer?: Dialer;
}

/** The numeric {@link HalibutClientOptions} with defaults applied; see there for each one's meaning. */
export interface ResolvedClientOptions {
  /** TCP connect deadline, ms. */
  connectTimeoutMs: number;
  /** TLS handshake deadline, and separately identification's, ms. */
  handshakeTimeoutMs: number;
  /** NEXT/PROCEED and END deadline, ms. */
  heartbeatTimeoutMs: number;
  /** Wait for the first byte of a response, ms. */
  responseTimeoutMs: number;
  /** Any other read without progress, ms. */
  readTimeoutMs: number;
  /** Fewest bytes per second of waiting once a response has begun; 0 for no floor. */
  minTransferRate: number;
  /** The window the floor is averaged over, ms. */
  transferRateWindowMs: number;
  /** Largest decompressed message accepted, bytes. */
  maxMessageBytes: number;
  /** Deepest nesting accepted in a message. */
  maxDepth: number;
  /** Most values (at every depth) accepted in one message. */
  maxElements: number;
  /** Most memory one decoded message may take, estimated while decoding, bytes. */
  maxDecodedBytes: number;
  /** Connections of all endpoints together. */
  maxConnections: number;
  /** Connections per endpoint. */
  maxConnectionsPerEndpoint: number;
  /** Longest wait for a free connection, ms. */
  waitQueueTimeoutMs: number;
  /** Idle connections kept per endpoint. */
  maxIdlePerEndpoint: number;
  /** Idle connections older than this are closed, and endpoints left with nothing this long forgotten, ms. */
  maxIdleTimeMs: number;
  /** zlib level for outgoing messages, 0–9. */
  compressionLevel: number;
}

/** The client's defaults, exported as `CLIENT_DEFAULTS`. */
export const DEFAULTS: ResolvedClientOptions = {
  connectTimeoutMs: 60_000,
  handshakeTimeoutMs: 60_000,
  heartbeatTimeoutMs: 60_000,
  responseTimeoutMs: 600_000,
  readTimeoutMs: 600_000,
  minTransferRate: 1024,
  transferRateWindowMs: 30_000,
  maxMessageBytes: 64 * 1024 * 1024,
  maxDepth: 64,
  maxElements: DEFAULT_MAX_ELEMENTS,
  maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES,
  maxConnections: 4096,
  maxConnectionsPerEndpoint: 16,
  waitQueueTimeoutMs: 120_000,
  maxIdlePerEndpoint: 5,
  maxIdleTimeMs: 50_000,
  compressionLevel: 6,
};

/** A client's options, checked and with defaults applied. */
export interface ResolvedClient {
  /** The certificate presented to agents, parsed. */
  identity: CertificateIdentity;
  /** Time limits, pool sizes and message bounds. */
  limits: ResolvedClientOptions;
  /** Retry options for every call (a call may override them). */
  retry: ResolvedRetryOptions;
  /** The default proxy for endpoints without their own. */
  proxy: ProxyOption;
}

/** Checks a client's options as a whole and applies defaults; a mistake throws a TypeError naming the option. */
export function resolveClientOptions(options: HalibutClientOptions): ResolvedClient {
  if (options === null || typeof options !== 'object' || options.certificate === undefined) {
    throw new TypeError('HalibutClient needs { certificate }: the client certificate the agent trusts');
  }
  const proxy = options.proxy ?? false;
  // Fail on a malformed proxy option now rather than at the first call.
  if (proxy !== false && proxy !== 'env') parseProxy(proxy);
  return { identity: toIdentity(options.certificate), limits: resolveOptions(options), retry: resolveRetry(RETRY_DEFAULTS, options.retry), proxy };
}

/** Applies defaults and rejects nonsense early, naming the option. */
export function resolveOptions(options: HalibutClientOptions): ResolvedClientOptions {
  const out = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS) as Array<keyof ResolvedClientOptions>) {
    const value = options[name];
    if (value === undefined) continue;
    const min = name === 'maxIdlePerEndpoint' || name === 'compressionLevel' || name === 'minTransferRate' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || !Number.isInteger(value)) {
      throw new TypeError(`Option ${name} must be an integer ≥ ${min}, got ${String(value)}`);
    }
    if (name === 'compressionLevel' && value > 9) throw new TypeError(`Option compressionLevel must be 0–9, got ${value}`);
    out[name] = value;
  }
  return out;
}
