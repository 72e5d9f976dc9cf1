/**
 * Checks and names the targets of a run on many targets, all before anything starts: a list with one bad entry is a
 * mistake in the list, better reported once than as a failure of that target after the others have run.
 */
import { resolveEndpoint, type ResolvedEndpoint } from '../client/endpoint.js';
import { DuplicateTargetNameError, InvalidTargetError } from './errors.js';
import type { ScriptTarget } from './run-on-many-types.js';

/** A checked target: its unique name, its normalised URL, and the endpoint as the caller gave it. */
export interface NamedTarget {
  readonly name: string;
  readonly url: string;
  readonly endpoint: ScriptTarget;
}

/**
 * @throws InvalidTargetError for an entry that is not a target; DuplicateTargetNameError when two share a name.
 */
export function nameTargets(targets: readonly ScriptTarget[]): NamedTarget[] {
  // Checked on a copy of the reference: Array.isArray would narrow `targets` itself to any[].
  const given: unknown = targets;
  if (!Array.isArray(given)) throw new TypeError('runScriptOnMany needs an array of targets { name?, url, thumbprint }');
  const seen = new Map<string, number>();
  return targets.map((target, index) => {
    let resolved: ResolvedEndpoint;
    try {
      resolved = resolveEndpoint(target);
    } catch (err) {
      throw new InvalidTargetError(index, (err as Error).message, err);
    }
    const name = target.name ?? hostPort(resolved);
    if (typeof name !== 'string' || name === '' || hasControlCharacter(name)) {
      throw new InvalidTargetError(index, 'its name must be a non-empty string without control characters');
    }
    const first = seen.get(name);
    if (first !== undefined) throw new DuplicateTargetNameError(name, [first, index]);
    seen.set(name, index);
    return { name, url: resolved.url, endpoint: target };
  });
}

function hostPort(endpoint: ResolvedEndpoint): string {
  return `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
