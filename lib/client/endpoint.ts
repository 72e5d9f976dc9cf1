import { normalizePins } from '../certificates/pinning.js';
import { resolveProxy, type ProxyOption, type ResolvedProxy } from '../transport/proxy/proxy-settings.js';

/** A listening agent: where it is and which certificate(s) it may present. */
export interface Endpoint {
  /** `https://host:port/`. Without a port, 443 is used, as in any https URL (Tentacles listen on 10933). */
  url: string;
  /** The agent's SHA-1 certificate thumbprint, or several (e.g. during certificate rotation). */
  thumbprint: string | readonly string[];
  /** How to reach this agent; overrides the client's `proxy` option. See docs/proxies.md. */
  proxy?: ProxyOption;
}

/** An endpoint checked and normalised once. */
export interface ResolvedEndpoint {
  /** Normalised URL with a trailing slash, lowercased scheme and host (Halibut's BaseUri form). */
  url: string;
  /** The host name or IP address (IPv6 without brackets). */
  host: string;
  /** The TCP port. */
  port: number;
  /** The accepted thumbprints, normalised (uppercase hex, no separators). */
  pins: string[];
  /** The proxy the connection goes through, if any. */
  proxy: ResolvedProxy | undefined;
  /** Identifies the pool the endpoint's connections live in. */
  key: string;
}

/**
 * Checks and normalises an endpoint: its URL must be `https://`, its thumbprints valid, its proxy (or
 * `defaultProxy`) well-formed.
 *
 * @throws TypeError for a malformed URL or proxy, or no thumbprint; {@link InvalidThumbprintError} for a malformed one.
 */
export function resolveEndpoint(endpoint: Endpoint, defaultProxy?: ProxyOption): ResolvedEndpoint {
  if (endpoint === null || typeof endpoint !== 'object') throw new TypeError('An endpoint is { url, thumbprint }');
  let parsed: URL;
  try {
    parsed = new URL(endpoint.url);
  } catch {
    throw new TypeError(`Not a valid endpoint URL: '${endpoint.url}'`);
  }
  if (parsed.protocol !== 'https:') throw new TypeError(`A listening agent's URL must start with https:// (got '${endpoint.url}')`);
  const port = parsed.port === '' ? 443 : Number(parsed.port);
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const pins = normalizePins(endpoint.thumbprint);
  const url = `https://${parsed.hostname.toLowerCase()}:${port}/`;
  const proxy = resolveProxy(endpoint.proxy ?? defaultProxy, host, port);
  return { url, host, port, pins, proxy, key: `${url}|${[...pins].sort().join(',')}|${proxy?.key ?? 'direct'}` };
}
