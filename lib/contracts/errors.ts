import { HalibutError } from '../errors.js';

/**
 * A value did not have the shape its Tentacle contract type requires: a missing or mistyped property, or a `$type`
 * naming another type. `path` says where (e.g. `result.Logs[3].Occurred`).
 */
export class ContractError extends HalibutError {
  readonly code = 'ERR_CONTRACT';
  constructor(
    /** The contract type being read, e.g. `ScriptStatusResponseV2`. */
    readonly contractType: string,
    /** Where in the value the problem is. */
    readonly path: string,
    problem: string,
  ) {
    super(`Not a valid ${contractType}: ${path} ${problem}`);
  }
}
