export { ListeningAgent, type AgentAddress, type DropReason, type ListeningAgentEvents, type ListeningAgentOptions, type RejectionReason } from './listening-agent.js';
export { RemoteFailure } from './remote-failure.js';
export { DEFAULT_FRIENDLY_HTML } from './friendly-page.js';
export type { CallContext, ServiceImplementation } from './service-dispatch.js';
export {
  createTentacleServices,
  startTentacleAgent,
  type StartedTentacleAgent,
  type TentacleAgentOptions,
  type TentacleServices,
  type TentacleServicesOptions,
} from './tentacle/index.js';
