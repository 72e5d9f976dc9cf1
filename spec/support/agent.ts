// Starts the embeddable agent on loopback with the test identities, and a client that trusts it.
import { HalibutClient, type Endpoint, type HalibutClientOptions } from '../../lib/index.js';
import { ListeningAgent, type ListeningAgentOptions } from '../../lib/testing/index.js';
import { onCleanup } from './cleanup.js';
import { identities } from './identities.js';

export interface AgentHarness {
  agent: ListeningAgent;
  endpoint: Endpoint;
  client: HalibutClient;
  /** Accepted TLS connections so far. */
  connections: () => number;
}

export async function startAgent(
  agentOptions: Partial<ListeningAgentOptions> = {},
  clientOptions: Partial<HalibutClientOptions> = {},
): Promise<AgentHarness> {
  const ids = await identities();
  const agent = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], ...agentOptions });
  let accepted = 0;
  agent.on('connection', () => accepted++);
  const address = await agent.listen({ host: '127.0.0.1', port: 0 });
  const client = new HalibutClient({ certificate: ids.client, ...clientOptions });
  onCleanup(() => agent.close());
  onCleanup(() => client.close());
  return { agent, endpoint: { url: address.url, thumbprint: address.thumbprint }, client, connections: () => accepted };
}
