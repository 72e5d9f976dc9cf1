export { ListeningAgent, type AgentAddress, type ListeningAgentEvents, type ListeningAgentOptions, type RejectionReason } from './listening-agent.js';
export { RemoteFailure } from './remote-failure.js';
export { DEFAULT_FRIENDLY_HTML } from './friendly-page.js';
export { HALIBUT_BINDING, type CallContext, type RequestBinding, type ServiceImplementation } from './service-dispatch.js';
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
