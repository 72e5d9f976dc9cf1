/**
 * Which proxy, if any, carries the connection to an agent: an explicit URL, the conventional environment variables,
 * or none. Credentials are kept out of everything that might be printed.
 */
import { createHash } from 'node:crypto';
import { matchesNoProxy } from './no-proxy.js';

/** A proxy: `http://`, `https://` (TLS to the proxy) or `socks5://` / `socks5h://`. */
export interface ProxySettings {
  /** e.g. `http://proxy.corp:3128` or `socks5://user:pass@127.0.0.1:1080`. Credentials in the URL are percent-decoded. */
  url: string;
  /** Overrides the user name in the URL. */
  username?: string;
  /** Overrides the password in the URL. Never logged, never put in an error or on the wire to the agent. */
  password?: string;
}

/**
 * How to reach agents: a proxy URL or {@link ProxySettings}; `'env'` to follow `HTTPS_PROXY` / `ALL_PROXY` /
 * `NO_PROXY` (lower-case names win); or `false` for a direct connection.
 */
export type ProxyOption = ProxySettings | false | 'env' | (string & {});

/** A proxy parsed from a {@link ProxyOption}, as an endpoint resolves it (see {@link ResolvedEndpoint}). */
export interface ResolvedProxy {
  /** HTTP CONNECT in clear (`http`) or over TLS (`https`), or SOCKS5 (`socks5://` and `socks5h://`). */
  kind: 'http' | 'https' | 'socks5';
  /** The proxy's host name or IP address (IPv6 without brackets). */
  host: string;
  /** The proxy's port (by default 80, 443 or 1080 by scheme). */
  port: number;
  /** The user name for the proxy, if any. */
  username: string | undefined;
  /** Kept out of enumeration so that logging the object cannot show it. */
  readonly password: string | undefined;
  /** `scheme://host:port`, safe to show. */
  display: string;
  /** Identifies the proxy and its credentials for pooling, without revealing the password. */
  key: string;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'socks5:': 1080, 'socks5h:': 1080 };

/** Parses a proxy option; throws a TypeError naming the problem (never echoing credentials). */
export function parseProxy(option: string | ProxySettings): ResolvedProxy {
  const settings = typeof option === 'string' ? { url: option } : option;
  let url: URL;
  try {
    url = new URL(settings.url.includes('://') ? settings.url : `http://${settings.url}`);
  } catch {
    throw new TypeError('The proxy URL is not a valid URL');
  }
  const kind = url.protocol === 'http:' ? 'http' : url.protocol === 'https:' ? 'https' : url.protocol === 'socks5:' || url.protocol === 'socks5h:' ? 'socks5' : undefined;
  if (kind === undefined) throw new TypeError(`Unsupported proxy scheme '${url.protocol}' (use http:, https: or socks5:)`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new TypeError('The proxy URL has no host');
  const port = url.port === '' ? DEFAULT_PORTS[url.protocol]! : Number(url.port);
  const username = settings.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  const password = settings.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
  const display = `${url.protocol}//${url.hostname}:${port}`;
  const secret = password === undefined ? '' : createHash('sha256').update(password).digest('hex').slice(0, 16);
  const resolved = { kind, host, port, username, display, key: `${display}|${username ?? ''}|${secret}` } as ResolvedProxy;
  Object.defineProperty(resolved, 'password', { value: password, enumerable: false });
  return resolved;
}

/** The proxy for a connection to `host:port`, or undefined for a direct connection. */
export function resolveProxy(option: ProxyOption | undefined, host: string, port: number, env: NodeJS.ProcessEnv = process.env): ResolvedProxy | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== 'env') return parseProxy(option);
  // Agent URLs are https, so HTTPS_PROXY applies, then ALL_PROXY; lower-case names take precedence, as in curl.
  const url = first(env, 'https_proxy', 'HTTPS_PROXY') ?? first(env, 'all_proxy', 'ALL_PROXY');
  if (url === undefined) return undefined;
  const noProxy = first(env, 'no_proxy', 'NO_PROXY');
  if (noProxy !== undefined && matchesNoProxy(noProxy, host, port)) return undefined;
  return parseProxy(url);
}

function first(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return value.trim();
  }
  return undefined;
}
