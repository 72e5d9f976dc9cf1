/**
 * halibut-client/testing: an embeddable listening agent that speaks Halibut like a Tentacle, with Tentacle's
 * services (scripts, files, capabilities), for testing deployment code without a real Tentacle. See docs/agent.md.
 *
 * @packageDocumentation
 * @module halibut-client/testing
 */
export { ListeningAgent, type AgentAddress, type DropReason, type ListeningAgentEvents, type ListeningAgentOptions, type RejectionReason } from './listening-agent.js';
export { RemoteFailure } from './remote-failure.js';
export { DEFAULT_FRIENDLY_HTML } from './friendly-page.js';
export { HALIBUT_BINDING, type CallContext, type RequestBinding, type ServiceImplementation } from './service-dispatch.js';
export type { RequestMessage } from '../protocol/message-codec.js';
export {
  createTentacleServices,
  IMITATED_TENTACLE_VERSION,
  tentacleEnvironment,
  startTentacleAgent,
  type StartedTentacleAgent,
  type TentacleAgentOptions,
  type TentacleServices,
  type TentacleServicesOptions,
} from './tentacle/index.js';
