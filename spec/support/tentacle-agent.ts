// Starts embedded Tentacle agents on loopback with the test identities, closed after the file's tests, and a client
// that trusts them (closed before the agents: cleanups run last registered first).
import { HalibutClient, TentacleClient, type HalibutClientOptions, type TentacleClientOptions } from '../../lib/index.js';
import { startTentacleAgent, type StartedTentacleAgent, type TentacleAgentOptions } from '../../lib/testing/index.js';
import { onCleanup } from './cleanup.js';
import { identities, type TestIdentities } from './identities.js';

export interface TentacleHarness {
  ids: Awaited<ReturnType<typeof identities>>;
  client: HalibutClient;
  /** Starts another agent (the options win over the defaults). */
  tentacleAgent: (options?: Partial<TentacleAgentOptions>) => Promise<StartedTentacleAgent>;
  /** The agent started with the harness. */
  main: StartedTentacleAgent;
}

/** `before` runs just before the main agent starts (e.g. to set what its scripts inherit), `after` just after. */
export async function tentacleHarness(mainOptions: Partial<TentacleAgentOptions> = {}, around?: { before(): void; after(): void }): Promise<TentacleHarness> {
  const ids = await identities();
  const client = new HalibutClient({ certificate: ids.client, retry: false });
  const tentacleAgent = startTestTentacle;
  around?.before();
  const main = await tentacleAgent(mainOptions);
  around?.after();
  onCleanup(() => client.close());
  return { ids, client, tentacleAgent, main };
}

/** Starts an embedded Tentacle agent with the test identity, trusting the test client; closed after the file's tests. */
export async function startTestTentacle(options: Partial<TentacleAgentOptions> = {}): Promise<StartedTentacleAgent> {
  const ids = await identities();
  const started = await startTentacleAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], ...options });
  onCleanup(() => started.close());
  return started;
}

/** A Halibut client with the test client's identity and a TentacleClient over it, closed after the file's tests. */
export function testTentacleClients(
  ids: TestIdentities,
  options: TentacleClientOptions,
  halibutOptions: Partial<HalibutClientOptions> = {},
): { halibut: HalibutClient; tentacle: TentacleClient } {
  const halibut = new HalibutClient({ certificate: ids.client, ...halibutOptions });
  onCleanup(() => halibut.close());
  return { halibut, tentacle: new TentacleClient(halibut, options) };
}
