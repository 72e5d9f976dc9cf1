/**
 * Discovery: learn which certificate a listening agent presents (and what it answers to a browser) without
 * trusting it or being trusted by it — what Octopus does when it registers a Tentacle. See docs/cli.md (`discover`,
 * `probe`).
 */
export { discoverAgent, parseAgentUrl, type DiscoverOptions, type DiscoveredAgent } from './discover-agent.js';
export type { FriendlyPage } from './friendly-page.js';
export { describeCertificate, type PresentedCertificate } from '../certificates/presented.js';
