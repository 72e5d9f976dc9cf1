/**
 * Tentacle services for the embeddable agent: a stand-in Linux Tentacle for tests and demos. It runs scripts for
 * real; see the warning on {@link createTentacleServices}.
 */
export { createTentacleServices, type TentacleServices, type TentacleServicesOptions } from './tentacle-services.js';
export { startTentacleAgent, type StartedTentacleAgent, type TentacleAgentOptions } from './tentacle-agent.js';
