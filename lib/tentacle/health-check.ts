/**
 * A Tentacle's health check: a probe (lib/client/probe.ts) whose one request asks for the agent's capabilities, so
 * that a fleet learns what each agent can do at the cost of checking that it is there.
 */
import type { Endpoint } from '../client/endpoint.js';
import type { HalibutClient } from '../client/halibut-client.js';
import type { ProbeOptions } from '../client/probe-report.js';
import { ContractError } from '../contracts/errors.js';
import type { HalibutError } from '../errors.js';
import { RemoteError } from '../protocol/remote-errors.js';
import { CAPABILITIES_REQUEST, capabilitiesFromAnswer, type CapabilitiesCache } from './capabilities.js';
import type { HealthCheckReport } from './types.js';

/**
 * Probes `endpoint` asking for its capabilities on the probe's own connection. Capabilities read this way are
 * remembered in `cache`, as if asked for with `capabilities()`.
 */
export async function healthCheck(client: HalibutClient, cache: CapabilitiesCache, endpoint: Endpoint, options: ProbeOptions): Promise<HealthCheckReport> {
  const { report, answer } = await client.probeWith(endpoint, CAPABILITIES_REQUEST, options);
  const health: HealthCheckReport = { ...report, capabilities: null };
  if (answer === undefined) return health;
  try {
    health.capabilities = capabilitiesFromAnswer(answer);
    cache.remember(endpoint, health.capabilities);
  } catch (err) {
    // Only these come out of reading an answer; anything else is a bug and is thrown.
    if (!(err instanceof RemoteError || err instanceof ContractError)) throw err;
    health.ok = false;
    health.failure = { step: 'capabilities', error: err, explanation: explainCapabilitiesFailure(err) };
  }
  return health;
}

function explainCapabilitiesFailure(error: HalibutError): string {
  if (error instanceof RemoteError) return `the agent could not list its capabilities: ${JSON.stringify(error.serverMessage.slice(0, 60))}`;
  return 'the agent answered GetCapabilities with something that is not a list of capabilities';
}
