/** High-level Tentacle operations: capabilities, scripts, file transfer. See docs/tentacle.md. */
export { TentacleClient, type TentacleClientOptions } from './tentacle-client.js';
export {
  RemoteFileNotFoundError,
  DuplicateTargetNameError,
  InvalidTargetError,
  ScriptCancelTimeoutError,
  ScriptNotFoundError,
  ScriptStartUncertainError,
  ScriptTicketUnsupportedError,
  ScriptTimeoutError,
  UnsupportedScriptServiceError,
  UploadVerificationError,
} from './errors.js';
export { interpretCapabilities, meansNoCapabilitiesService } from './capabilities.js';
export type { PollOptions } from './polling.js';
export type * from './types.js';
export type * from './run-on-many-types.js';
