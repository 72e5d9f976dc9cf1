/**
 * What a client remembers per endpoint so that a call on a known endpoint does no parsing: the resolved endpoint
 * (URL, pins, proxy) and the endpoint description each request carries.
 */
import { describeEndpoint } from '../protocol/endpoint-description.js';
import type { ProxyOption } from '../transport/proxy/proxy-settings.js';
import { resolveEndpoint, type Endpoint, type ResolvedEndpoint } from './endpoint.js';
import type { ResolvedRetryOptions } from './retry.js';

interface Resolved {
  url: string;
  proxy: ProxyOption | undefined;
  thumbprint: string | readonly string[];
  resolved: ResolvedEndpoint;
}

interface Description {
  attempts: number;
  delayMs: number;
  windowMs: number;
  description: Record<string, unknown>;
}

/** Resolved endpoints and their request descriptions, per endpoint object, for one client. */
export class EndpointCache {
  readonly #defaultProxy: ProxyOption;
  readonly #connectTimeoutMs: number;
  /** Endpoints already resolved, with what they were resolved from. */
  readonly #resolved = new WeakMap<Endpoint, Resolved>();
  /** The last endpoint description built for each resolved endpoint, with the retry settings it describes. */
  readonly #descriptions = new WeakMap<ResolvedEndpoint, Description>();

  /** `defaultProxy` is the client's `proxy` option; `connectTimeoutMs` goes into every description. */
  constructor(defaultProxy: ProxyOption, connectTimeoutMs: number) {
    this.#defaultProxy = defaultProxy;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /**
   * Resolves an endpoint, remembering the result per endpoint object for as long as its url, thumbprint(s) and proxy
   * stay the same. Endpoints whose proxy comes from the environment, or is an object, are resolved every time.
   */
  resolve(endpoint: Endpoint): ResolvedEndpoint {
    const cached = typeof endpoint === 'object' && endpoint !== null ? this.#resolved.get(endpoint) : undefined;
    if (cached !== undefined && cached.url === endpoint.url && cached.proxy === endpoint.proxy && samePins(cached.thumbprint, endpoint.thumbprint)) {
      return cached.resolved;
    }
    const resolved = resolveEndpoint(endpoint, this.#defaultProxy);
    const proxy = endpoint.proxy ?? this.#defaultProxy;
    if (proxy !== 'env' && typeof proxy !== 'object') {
      const { thumbprint } = endpoint;
      this.#resolved.set(endpoint, { url: endpoint.url, proxy: endpoint.proxy, thumbprint: typeof thumbprint === 'string' ? thumbprint : [...thumbprint], resolved });
    }
    return resolved;
  }

  /** The request's endpoint description; the same object for every call with the same endpoint and retry settings. */
  describe(ep: ResolvedEndpoint, retry: ResolvedRetryOptions): Record<string, unknown> {
    const cached = this.#descriptions.get(ep);
    if (cached !== undefined && cached.attempts === retry.attempts && cached.delayMs === retry.delayMs && cached.windowMs === retry.maxRetryTimeMs) {
      return cached.description;
    }
    const description = describeEndpoint({
      url: ep.url,
      thumbprint: ep.pins[0],
      connectTimeoutMs: this.#connectTimeoutMs,
      retryAttempts: retry.attempts,
      retryDelayMs: retry.delayMs,
      retryWindowMs: retry.maxRetryTimeMs,
    });
    this.#descriptions.set(ep, { attempts: retry.attempts, delayMs: retry.delayMs, windowMs: retry.maxRetryTimeMs, description });
    return description;
  }
}

function samePins(cached: string | readonly string[], current: string | readonly string[]): boolean {
  if (typeof cached === 'string' || typeof current === 'string') return cached === current;
  if (cached.length !== current.length) return false;
  for (let i = 0; i < cached.length; i++) if (cached[i] !== current[i]) return false;
  return true;
}
