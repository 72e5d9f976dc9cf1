import type { CertificateIdentity } from '../../lib/index.js';
import type { Peer } from './spawn-peer.js';
import type { Stats } from './stats.js';

export interface BenchContext {
  quick: boolean;
  identity: CertificateIdentity;
  /** One agent and the raw baseline server, in a child process. */
  peer: Peer;
  rounds: number;
  /** How long one timed round runs. */
  roundMs: number;
}

/** One line of the report. */
export interface ScenarioResult {
  scenario: string;
  unit: string;
  value: Stats;
  baselineName?: string;
  baseline?: Stats;
  /** value.median / baseline.median (for costs, baseline / value, so that higher is always better). */
  ratio?: number;
  /** The goal, e.g. `ratio ≥ 0.8`. */
  target?: string;
  targetMet?: boolean;
  extra?: Record<string, number | string>;
}

export function compare(result: Omit<ScenarioResult, 'ratio' | 'targetMet'>, minimumRatio?: number, lowerIsBetter = false): ScenarioResult {
  if (result.baseline === undefined) return result;
  const ratio = lowerIsBetter ? result.baseline.median / result.value.median : result.value.median / result.baseline.median;
  const out: ScenarioResult = { ...result, ratio: Number(ratio.toFixed(3)) };
  if (minimumRatio !== undefined) {
    out.target = `ratio ≥ ${minimumRatio}`;
    out.targetMet = ratio >= minimumRatio;
  }
  return out;
}
