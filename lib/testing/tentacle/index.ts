/**
 * Tentacle services for the embeddable agent: a stand-in Linux Tentacle for tests and demos. It runs scripts for
 * real; see the warning on {@link createTentacleServices}.
 */
export { createTentacleServices, IMITATED_TENTACLE_VERSION, tentacleEnvironment, type TentacleServices, type TentacleServicesOptions } from './tentacle-services.js';
export { TENTACLE_BINDING } from './tentacle-binding.js';
export { startTentacleAgent, type StartedTentacleAgent, type TentacleAgentOptions } from './tentacle-agent.js';
