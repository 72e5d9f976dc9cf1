/**
 * Tentacle's service contracts: names, enums, the contract types as TypeScript objects, and their wire encoders and
 * decoders. See docs/contracts.md.
 */
export * from './arguments.js';
export * from './decode.js';
export type * from './dtos.js';
export * from './encode.js';
export * from './enums.js';
export { ContractError } from './errors.js';
export * from './services.js';
export { isCallerTicket, isSafeTicket, newScriptTicket } from './ticket.js';
export { TypeNames, acceptedTypeNames, isContractType, type ContractTypeName } from './type-names.js';
