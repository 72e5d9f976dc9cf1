/**
 * halibut-client: call Octopus Deploy listening Tentacles (and any Halibut listening service) from Node.
 *
 * @packageDocumentation
 */
export * from './client/index.js';
export * from './certificates/index.js';
export * from './contracts/index.js';
export * from './tentacle/index.js';
export * from './diagnostics/index.js';
export {
  discoverAgent,
  describeCertificate,
  parseAgentUrl,
  type DiscoverOptions,
  type DiscoveredAgent,
  type FriendlyPage,
  type PresentedCertificate,
} from './discovery/index.js';
export { HalibutError, PhaseTimeoutError } from './errors.js';
export {
  ConnectError,
  HostNotFoundError,
  NotTlsError,
  ProxyAuthenticationError,
  ProxyError,
  ProxyProtocolError,
  ProxyRefusedError,
  TlsHandshakeError,
  matchesNoProxy,
  type ProxyOption,
  type ProxySettings,
} from './transport/index.js';
export {
  PoolClosedError,
  WaitQueueTimeoutError,
  type CheckOutFailureReason,
  type ConnectionCloseReason,
  type ConnectionEvent,
  type EndpointStats,
  type PoolEvents,
} from './pool/index.js';
export {
  AgentRejectedClientError,
  AmbiguousMethodMatchError,
  Binary,
  ConnectionClosedError,
  ControlLineError,
  DataStream,
  DataStreamError,
  Double,
  Guid,
  Int32,
  Int64,
  MessageFormatError,
  MessageTooLargeError,
  MethodNotFoundError,
  NotHalibutPeerError,
  ProtocolError,
  RemoteError,
  ServiceInvocationError,
  ServiceNotFoundError,
  TimeSpan,
  dotnetObject,
  type ServerError,
} from './protocol/index.js';
