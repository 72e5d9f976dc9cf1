/**
 * The `$type` strings of Tentacle's contract types, as a current Tentacle writes them.
 *
 * Tentacle moved its V1 contracts from `Octopus.Shared.Contracts` (assembly `Octopus.Shared`) to
 * `Octopus.Tentacle.Contracts` in 6.2.125, but it still writes the old names, and Tentacles before that version know
 * only them. So the V1 types and `UploadResult` are written with the legacy names, and either form is accepted when
 * read. The V2, capabilities and Kubernetes types only ever had the new names.
 */

const LEGACY = (name: string): string => `Octopus.Shared.Contracts.${name}, Octopus.Shared`;
const MODERN = (name: string): string => `Octopus.Tentacle.Contracts.${name}, Octopus.Tentacle.Contracts`;

/**
 * The `$type` written for each contract type that can sit in a `params` slot or be a `result`, as a current
 * Tentacle writes them. The V1 types and `UploadResult` keep their legacy `Octopus.Shared.Contracts` names (what
 * Tentacle still writes, and all that Tentacles before 6.2.125 know); either form is accepted when read.
 */
export const TypeNames = {
  /** The `$type` of {@link StartScriptCommand} (the legacy name). */
  StartScriptCommand: LEGACY('StartScriptCommand'),
  /** The `$type` of {@link ScriptStatusRequest} (the legacy name). */
  ScriptStatusRequest: LEGACY('ScriptStatusRequest'),
  /** The `$type` of {@link CancelScriptCommand} (the legacy name). */
  CancelScriptCommand: LEGACY('CancelScriptCommand'),
  /** The `$type` of {@link CompleteScriptCommand} (the legacy name). */
  CompleteScriptCommand: LEGACY('CompleteScriptCommand'),
  /** The `$type` of {@link ScriptTicket} (the legacy name). */
  ScriptTicket: LEGACY('ScriptTicket'),
  /** The `$type` of {@link ScriptStatusResponse} (the legacy name). */
  ScriptStatusResponse: LEGACY('ScriptStatusResponse'),
  /** The `$type` of {@link UploadResult} (the legacy name). */
  UploadResult: LEGACY('UploadResult'),
  /** The `$type` of {@link CapabilitiesResponseV2}. */
  CapabilitiesResponseV2: MODERN('Capabilities.CapabilitiesResponseV2'),
  /** The `$type` of {@link StartScriptCommandV2}. */
  StartScriptCommandV2: MODERN('ScriptServiceV2.StartScriptCommandV2'),
  /** The `$type` of {@link ScriptStatusRequestV2}. */
  ScriptStatusRequestV2: MODERN('ScriptServiceV2.ScriptStatusRequestV2'),
  /** The `$type` of {@link CancelScriptCommandV2}. */
  CancelScriptCommandV2: MODERN('ScriptServiceV2.CancelScriptCommandV2'),
  /** The `$type` of {@link CompleteScriptCommandV2}. */
  CompleteScriptCommandV2: MODERN('ScriptServiceV2.CompleteScriptCommandV2'),
  /** The `$type` of {@link ScriptStatusResponseV2}. */
  ScriptStatusResponseV2: MODERN('ScriptServiceV2.ScriptStatusResponseV2'),
  /** The `$type` of {@link StartKubernetesScriptCommandV1}. */
  StartKubernetesScriptCommandV1: MODERN('KubernetesScriptServiceV1.StartKubernetesScriptCommandV1'),
  /** The `$type` of {@link KubernetesScriptStatusRequestV1}. */
  KubernetesScriptStatusRequestV1: MODERN('KubernetesScriptServiceV1.KubernetesScriptStatusRequestV1'),
  /** The `$type` of {@link CancelKubernetesScriptCommandV1}. */
  CancelKubernetesScriptCommandV1: MODERN('KubernetesScriptServiceV1.CancelKubernetesScriptCommandV1'),
  /** The `$type` of {@link CompleteKubernetesScriptCommandV1}. */
  CompleteKubernetesScriptCommandV1: MODERN('KubernetesScriptServiceV1.CompleteKubernetesScriptCommandV1'),
  /** The `$type` of {@link KubernetesScriptStatusResponseV1}. */
  KubernetesScriptStatusResponseV1: MODERN('KubernetesScriptServiceV1.KubernetesScriptStatusResponseV1'),
} as const;

/** The name of a contract type that has a `$type`: a key of {@link TypeNames}. */
export type ContractTypeName = keyof typeof TypeNames;

/** The types whose legacy name is written, and whose modern name must be accepted too. */
const LEGACY_MAPPED: ReadonlySet<ContractTypeName> = new Set<ContractTypeName>([
  'StartScriptCommand',
  'ScriptStatusRequest',
  'CancelScriptCommand',
  'CompleteScriptCommand',
  'ScriptTicket',
  'ScriptStatusResponse',
  'UploadResult',
]);

/** Every `$type` string a reader should take as `name`: the one written, and for legacy types the modern one. */
export function acceptedTypeNames(name: ContractTypeName): readonly string[] {
  return LEGACY_MAPPED.has(name) ? [TypeNames[name], MODERN(name)] : [TypeNames[name]];
}

/** True when `typeName` (a received `$type`) names the contract type `name`, in either form. */
export function isContractType(typeName: unknown, name: ContractTypeName): boolean {
  return typeof typeName === 'string' && acceptedTypeNames(name).includes(typeName);
}
