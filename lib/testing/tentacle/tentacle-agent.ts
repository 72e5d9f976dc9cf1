/** A listening agent serving the Tentacle services: a stand-in Tentacle in one call. */
import { ListeningAgent, type AgentAddress, type ListeningAgentOptions } from '../listening-agent.js';
import type { ServiceImplementation } from '../service-dispatch.js';
import { createTentacleServices, type TentacleServices, type TentacleServicesOptions } from './tentacle-services.js';

/** Convenience: a ListeningAgent (on 127.0.0.1, port 0 by default) serving createTentacleServices(). */
export interface TentacleAgentOptions extends TentacleServicesOptions, Omit<ListeningAgentOptions, 'services'> {
  /** Where to listen; default 127.0.0.1. Anything else exposes script execution to the network. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** Extra services merged in (they win over the Tentacle ones of the same name). */
  services?: Record<string, ServiceImplementation>;
}

export interface StartedTentacleAgent {
  agent: ListeningAgent;
  tentacle: TentacleServices;
  /** `https://host:port/`. */
  url: string;
  /** The agent certificate's thumbprint. */
  thumbprint: string;
  /** `{ url, thumbprint }`, ready for `client.call(endpoint, …)`. */
  endpoint: { url: string; thumbprint: string };
  /** Closes the agent, then disposes the services (killing running scripts). Idempotent. */
  close(): Promise<void>;
  /** The same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The options that are not the agent's own (so that whatever else ListeningAgentOptions has passes through). */
const NOT_FOR_THE_AGENT: ReadonlySet<string> = new Set(['workRoot', 'fileRoot', 'capabilities', 'scriptServiceV2', 'shell', 'env', 'host', 'port', 'services']);

function listeningAgentOptions(options: TentacleAgentOptions): Omit<ListeningAgentOptions, 'services'> {
  return Object.fromEntries(Object.entries(options).filter(([key]) => !NOT_FOR_THE_AGENT.has(key))) as unknown as Omit<ListeningAgentOptions, 'services'>;
}

/**
 * Starts a listening agent that behaves like a Linux Tentacle: {@link createTentacleServices} served by a
 * {@link ListeningAgent}, listening on 127.0.0.1 and an ephemeral port unless told otherwise.
 *
 * **Warning: it runs whatever scripts a trusted client sends, as the user running this process.** For tests and
 * demos only. Keep it on loopback and trust only the thumbprint of a client you control.
 */
export async function startTentacleAgent(options: TentacleAgentOptions): Promise<StartedTentacleAgent> {
  const tentacle = await createTentacleServices(options);
  let agent: ListeningAgent;
  let address: AgentAddress;
  try {
    agent = new ListeningAgent({ ...listeningAgentOptions(options), services: { ...tentacle.services, ...options.services } });
    address = await agent.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  } catch (error) {
    // A bad certificate or a port in use: leave no temporary directories behind.
    await tentacle.dispose();
    throw error;
  }
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      try {
        await agent.close();
      } finally {
        await tentacle.dispose();
      }
    })());
  const endpoint = { url: address.url, thumbprint: address.thumbprint };
  return { agent, tentacle, url: address.url, thumbprint: address.thumbprint, endpoint, close, [Symbol.asyncDispose]: close };
}
