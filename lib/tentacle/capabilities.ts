/**
 * Asking an agent what it can do, as Octopus does: `ICapabilitiesServiceV2.GetCapabilities`, with Tentacles too old
 * to have that service taken to offer the V1 script service and file transfer, and answers cached per endpoint.
 */
import type { CallRequest, HalibutClient } from '../client/halibut-client.js';
import type { Endpoint } from '../client/endpoint.js';
import type { ProbeAnswer } from '../client/probe.js';
import { resolveEndpoint } from '../client/endpoint.js';
import { decodeCapabilitiesResponseV2 } from '../contracts/decode.js';
import { CapabilitiesMethods, FALLBACK_CAPABILITIES, ServiceNames } from '../contracts/services.js';
import { MethodNotFoundError, RemoteError, ServiceNotFoundError } from '../protocol/remote-errors.js';
import type { TentacleCapabilities } from './types.js';

/** True when a remote error means "this agent has no capabilities service" rather than a real failure. */
export function meansNoCapabilitiesService(err: unknown): boolean {
  if (err instanceof ServiceNotFoundError || err instanceof MethodNotFoundError) return true;
  if (!(err instanceof RemoteError)) return false;
  const text = `${err.serverMessage}\n${err.details ?? ''}`;
  if (text.includes('Octopus.Tentacle.Communications.UnknownServiceNameException') || text.includes('NotRegistered')) return true;
  // A Tentacle shutting down also fails in CreateService; that is a transient failure, not a missing service.
  if (text.includes('CreateService(')) return !text.includes('shutting down') && !text.includes('ObjectDisposedException');
  return text.includes(ServiceNames.CapabilitiesServiceV2);
}

/** The call that asks an agent what it can do. */
export const CAPABILITIES_REQUEST: CallRequest = { service: ServiceNames.CapabilitiesServiceV2, method: CapabilitiesMethods.GetCapabilities, params: [] };

/**
 * What an agent's answer to {@link CAPABILITIES_REQUEST} means: its capabilities, or the fallback when the error
 * says it has no capabilities service. Throws any other remote error, and a `ContractError` for an answer that is
 * not a CapabilitiesResponseV2.
 */
export function capabilitiesFromAnswer(answer: ProbeAnswer): TentacleCapabilities {
  if (answer.error === undefined) return interpretCapabilities(decodeCapabilitiesResponseV2(answer.result, 'result').SupportedCapabilities, false);
  if (meansNoCapabilitiesService(answer.error)) return interpretCapabilities(FALLBACK_CAPABILITIES, true);
  throw answer.error;
}

/** Reads what a list of capability strings means for running scripts. */
export function interpretCapabilities(supported: readonly string[], fallback: boolean): TentacleCapabilities {
  return {
    supported,
    fallback,
    kubernetes: supported.some((c) => c.includes('KubernetesScriptService')),
    // Only the exact name counts: 6.4.x advertised an incompatible "IScriptServiceV2Alpha".
    scriptService: supported.includes(ServiceNames.ScriptServiceV2) ? ServiceNames.ScriptServiceV2 : ServiceNames.ScriptService,
  };
}

interface CacheEntry {
  expires: number;
  value: Promise<TentacleCapabilities>;
}

/** Capabilities per endpoint, cached for `ttlMs`, with one request in flight per endpoint at a time. */
export class CapabilitiesCache {
  readonly #entries = new Map<string, CacheEntry>();

  constructor(
    private readonly client: HalibutClient,
    private readonly ttlMs: number,
  ) {}

  get(endpoint: Endpoint, options: { signal?: AbortSignal; refresh?: boolean } = {}): Promise<TentacleCapabilities> {
    const key = resolveEndpoint(endpoint).key;
    const now = performance.now();
    const cached = this.#entries.get(key);
    if (cached !== undefined && cached.expires > now && options.refresh !== true) return cached.value;
    const value = this.#fetch(endpoint, options.signal);
    this.#entries.set(key, { expires: now + this.ttlMs, value });
    // A failure is not an answer: the next caller asks again.
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return value;
  }

  /** Remembers capabilities learned another way (a health check's answer) as if they had just been asked for. */
  remember(endpoint: Endpoint, capabilities: TentacleCapabilities): void {
    this.#entries.set(resolveEndpoint(endpoint).key, { expires: performance.now() + this.ttlMs, value: Promise.resolve(capabilities) });
  }

  async #fetch(endpoint: Endpoint, signal: AbortSignal | undefined): Promise<TentacleCapabilities> {
    let result: unknown;
    try {
      result = await this.client.call(endpoint, CAPABILITIES_REQUEST, signal === undefined ? {} : { signal });
    } catch (err) {
      if (err instanceof RemoteError) return capabilitiesFromAnswer({ error: err });
      throw err;
    }
    return capabilitiesFromAnswer({ result });
  }
}
