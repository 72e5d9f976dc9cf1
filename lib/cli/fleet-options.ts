/**
 * The options the fleet commands share (`health`, `run --targets`): where the targets are listed and how many are
 * worked on at once. Each target's pin is in the file, so `--thumbprint` has no place beside them.
 */
import { stringValue, type OptionSpecs, type OptionValues } from './command.js';
import { UsageError } from './errors.js';
import { readTargetsFile, type FileTarget } from './targets-file.js';

/** `--targets FILE`, `--concurrency N`. */
export const fleetOptions: OptionSpecs = {
  targets: { type: 'string' },
  concurrency: { type: 'string' },
};

/**
 * How many targets are worked on at once unless told otherwise: the library's own default for runs on many targets
 * (a list given by mistake reaches 32 agents, not all of them, and a burst of new TLS connections stays small).
 */
export const DEFAULT_FLEET_CONCURRENCY = 32;

/** Help text for {@link fleetOptions}; `what` says what is done at once (e.g. `health checks`). */
export function fleetHelp(what: string): string {
  return `Targets:
  --targets FILE       the agents, one per line:  name https://host:port/ THUMBPRINT
                       (blank lines and # comments ignored; the whole file is checked first)
  --concurrency N      at most N ${what} at once (default ${DEFAULT_FLEET_CONCURRENCY})`;
}

/** What a fleet command works on. */
export interface FleetInput {
  targets: FileTarget[];
  concurrency: number;
}

/**
 * Reads `--concurrency` and the `--targets` file, both checked before any agent is contacted.
 *
 * @throws UsageError for a bad `--concurrency`, or `--thumbprint` given beside the file; TargetsFileError for a bad
 *   file; the file system's error when it cannot be read.
 */
export async function readFleetInput(values: OptionValues, command: string): Promise<FleetInput> {
  const file = stringValue(values, 'targets');
  if (file === undefined) throw new UsageError('--targets FILE is needed: the agents, one per line, name url thumbprint', command);
  if (stringValue(values, 'thumbprint') !== undefined) {
    throw new UsageError("--thumbprint does not go with --targets: each target's thumbprint is on its line of the file", command);
  }
  const concurrency = concurrencyValue(values, command);
  return { targets: await readTargetsFile(file), concurrency };
}

function concurrencyValue(values: OptionValues, command: string): number {
  const text = stringValue(values, 'concurrency');
  if (text === undefined) return DEFAULT_FLEET_CONCURRENCY;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`--concurrency must be a whole number from 1 (got '${text}')`, command);
  return n;
}
