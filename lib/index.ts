/**
 * halibut-client: call Octopus Deploy listening Tentacles (and any Halibut listening service) from Node.
 *
 * @packageDocumentation
 * @module halibut-client
 */
export * from './client/index.js';
export * from './certificates/index.js';
export * from './contracts/index.js';
export * from './tentacle/index.js';
export * from './diagnostics/index.js';
export { discoverAgent, parseAgentUrl, type DiscoverOptions, type DiscoveredAgent, type FriendlyPage } from './discovery/index.js';
export { HalibutError, PhaseTimeoutError, type CallProgress, type ErrorCode, type HalibutErrorOptions, type Phase } from './errors.js';
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
  type ConnectErrorCode,
  type ProxyErrorCode,
  type TlsHandshakeErrorCode,
  type ProxyOption,
  type ProxySettings,
  type ResolvedProxy,
} from './transport/index.js';
export {
  PoolClosedError,
  WaitQueueTimeoutError,
  type CheckOutFailureReason,
  type ConnectionCloseReason,
  type ConnectionEvent,
  type EndpointStats,
  type PoolEvents,
  type PoolStats,
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
  type MessageBound,
  MethodNotFoundError,
  NotHalibutPeerError,
  ProtocolError,
  RemoteError,
  ServiceInvocationError,
  ServiceNotFoundError,
  TimeSpan,
  dotnetObject,
  type RemoteCallContext,
  type ProtocolErrorCode,
  type RemoteErrorCode,
  type ServerError,
} from './protocol/index.js';
