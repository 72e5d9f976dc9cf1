/**
 * Service, method and capability names. A Tentacle looks services up by the simple name of the synchronous contract
 * interface, case-sensitively, and methods by their synchronous name.
 */

export const ServiceNames = {
  ScriptService: 'IScriptService',
  ScriptServiceV2: 'IScriptServiceV2',
  FileTransferService: 'IFileTransferService',
  CapabilitiesServiceV2: 'ICapabilitiesServiceV2',
  KubernetesScriptServiceV1: 'IKubernetesScriptServiceV1',
} as const;
export type ServiceName = (typeof ServiceNames)[keyof typeof ServiceNames];

/** The methods of the three script services (V1, V2 and Kubernetes share them). */
export const ScriptMethods = {
  StartScript: 'StartScript',
  GetStatus: 'GetStatus',
  CancelScript: 'CancelScript',
  CompleteScript: 'CompleteScript',
} as const;

export const FileTransferMethods = { UploadFile: 'UploadFile', DownloadFile: 'DownloadFile' } as const;

export const CapabilitiesMethods = { GetCapabilities: 'GetCapabilities' } as const;

/**
 * What a Tentacle too old to have `ICapabilitiesServiceV2` can do: every Tentacle has the V1 script service and the
 * file transfer service.
 */
export const FALLBACK_CAPABILITIES: readonly string[] = Object.freeze([ServiceNames.ScriptService, ServiceNames.FileTransferService]);

/** The default isolation mutex: what a Tentacle uses when a command names none. */
export const DEFAULT_MUTEX_NAME = 'RunningScript';
