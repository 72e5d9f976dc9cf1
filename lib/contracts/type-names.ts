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

/** The `$type` written for each contract type that can sit in a `params` slot or be a `result`. */
export const TypeNames = {
  StartScriptCommand: LEGACY('StartScriptCommand'),
  ScriptStatusRequest: LEGACY('ScriptStatusRequest'),
  CancelScriptCommand: LEGACY('CancelScriptCommand'),
  CompleteScriptCommand: LEGACY('CompleteScriptCommand'),
  ScriptTicket: LEGACY('ScriptTicket'),
  ScriptStatusResponse: LEGACY('ScriptStatusResponse'),
  UploadResult: LEGACY('UploadResult'),
  CapabilitiesResponseV2: MODERN('Capabilities.CapabilitiesResponseV2'),
  StartScriptCommandV2: MODERN('ScriptServiceV2.StartScriptCommandV2'),
  ScriptStatusRequestV2: MODERN('ScriptServiceV2.ScriptStatusRequestV2'),
  CancelScriptCommandV2: MODERN('ScriptServiceV2.CancelScriptCommandV2'),
  CompleteScriptCommandV2: MODERN('ScriptServiceV2.CompleteScriptCommandV2'),
  ScriptStatusResponseV2: MODERN('ScriptServiceV2.ScriptStatusResponseV2'),
  StartKubernetesScriptCommandV1: MODERN('KubernetesScriptServiceV1.StartKubernetesScriptCommandV1'),
  KubernetesScriptStatusRequestV1: MODERN('KubernetesScriptServiceV1.KubernetesScriptStatusRequestV1'),
  CancelKubernetesScriptCommandV1: MODERN('KubernetesScriptServiceV1.CancelKubernetesScriptCommandV1'),
  CompleteKubernetesScriptCommandV1: MODERN('KubernetesScriptServiceV1.CompleteKubernetesScriptCommandV1'),
  KubernetesScriptStatusResponseV1: MODERN('KubernetesScriptServiceV1.KubernetesScriptStatusResponseV1'),
} as const;

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
