export { HalibutClient, type CallOptions, type CallRequest } from './halibut-client.js';
export { resolveEndpoint, type Endpoint, type ResolvedEndpoint } from './endpoint.js';
export { CallAbortedError, CallTimeoutError, ClientClosedError, ProbeAbortedError } from './errors.js';
export type { ProbedCertificate, ProbeFailure, ProbeLatency, ProbeOptions, ProbeReport, ProbeStep } from './probe-report.js';
export { DEFAULTS as CLIENT_DEFAULTS, type ClientCertificate, type HalibutClientOptions, type ResolvedClientOptions } from './options.js';
export type { ServiceProxy } from './service-proxy.js';
export type { CallEvent, ClientEvents } from './client-events.js';
export { RETRY_DEFAULTS, type ResolvedRetryOptions, type RetryOptions } from './retry.js';
