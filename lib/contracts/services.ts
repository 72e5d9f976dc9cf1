/**
 * Service, method and capability names. A Tentacle looks services up by the simple name of the synchronous contract
 * interface, case-sensitively, and methods by their synchronous name.
 */

/** The services a Tentacle offers, by the name a call uses (also its capability string). */
export const ServiceNames = {
  /** Scripts, V1: the Tentacle chooses the ticket; every Tentacle has it. */
  ScriptService: 'IScriptService',
  /** Scripts, V2 (Tentacle 7.0+): the client chooses the ticket, so a repeated start is harmless. */
  ScriptServiceV2: 'IScriptServiceV2',
  /** Uploading and downloading files; every Tentacle has it. */
  FileTransferService: 'IFileTransferService',
  /** Which of these services the Tentacle offers. */
  CapabilitiesServiceV2: 'ICapabilitiesServiceV2',
  /** Scripts on the Kubernetes agent, each in its own pod. */
  KubernetesScriptServiceV1: 'IKubernetesScriptServiceV1',
} as const;
/** A Tentacle service name: a value of {@link ServiceNames}. */
export type ServiceName = (typeof ServiceNames)[keyof typeof ServiceNames];

/** The methods of the three script services (V1, V2 and Kubernetes share them). */
export const ScriptMethods = {
  /** Starts a script. */
  StartScript: 'StartScript',
  /** A script's state and new log records. */
  GetStatus: 'GetStatus',
  /** Stops a script. */
  CancelScript: 'CancelScript',
  /** Ends a finished script's life on the Tentacle, deleting its workspace. */
  CompleteScript: 'CompleteScript',
} as const;

/** The methods of `IFileTransferService`. */
export const FileTransferMethods = {
  /** Saves a data stream to a path on the agent. */
  UploadFile: 'UploadFile',
  /** Reads a file on the agent as a data stream. */
  DownloadFile: 'DownloadFile',
} as const;

/** The methods of `ICapabilitiesServiceV2`. */
export const CapabilitiesMethods = {
  /** Lists the services the Tentacle offers. */
  GetCapabilities: 'GetCapabilities',
} as const;

/**
 * What a Tentacle too old to have `ICapabilitiesServiceV2` can do: every Tentacle has the V1 script service and the
 * file transfer service.
 */
export const FALLBACK_CAPABILITIES: readonly string[] = Object.freeze([ServiceNames.ScriptService, ServiceNames.FileTransferService]);

/** The default isolation mutex: what a Tentacle uses when a command names none. */
export const DEFAULT_MUTEX_NAME = 'RunningScript';
