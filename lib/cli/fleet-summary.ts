/**
 * How a run on many agents ended, for people (the summary on standard error), for machines (the last `--json`
 * line) and for the shell (the exit code: the worst of the targets').
 */
import type { ManyRunSummary, TargetOutcome } from '../index.js';
import { ExitCode } from './exit-codes.js';
import { explain } from './explain.js';
import { shellExitCode } from './script-exit-codes.js';
import { renderRows } from './table.js';
import { terminalSafe } from './terminal-text.js';

/** The last `run --targets --json` line. */
export interface FleetSummaryRecord {
  type: 'summary';
  /** Every target succeeded. */
  ok: boolean;
  /** What the command exits with. */
  exitCode: number;
  succeeded: string[];
  failed: string[];
  cancelled: string[];
  skipped: string[];
}

/**
 * A target's share of the exit code: 0 when it succeeded; its script's code as a shell shows it when it failed by
 * exit code; at least 1 for any other way of not succeeding (unreachable, timed out, cancelled, never started), so
 * that no failure can hide behind another target's 0.
 */
export function targetExitCode(outcome: TargetOutcome): number {
  if (outcome.status === 'succeeded') return ExitCode.ok;
  const code = outcome.exitCode === undefined ? ExitCode.failed : shellExitCode(outcome.exitCode);
  return Math.max(ExitCode.failed, code);
}

/** The command's exit code: 130 when interrupted, else the worst (highest) of the targets'. */
export function fleetExitCode(summary: ManyRunSummary, interrupted: boolean): number {
  if (interrupted) return ExitCode.interrupted;
  return Math.max(ExitCode.ok, ...summary.targets.map(targetExitCode));
}

export function summaryRecord(summary: ManyRunSummary, exitCode: number): FleetSummaryRecord {
  const { succeeded, failed, cancelled, skipped } = summary;
  return { type: 'summary', ok: succeeded.length === summary.targets.length, exitCode, succeeded: [...succeeded], failed: [...failed], cancelled: [...cancelled], skipped: [...skipped] };
}

/** The summary for standard error: the counts, then one row per target that did not succeed, in file order. */
export function summaryText(summary: ManyRunSummary): string {
  const { targets, succeeded, failed, cancelled, skipped } = summary;
  const stopped = summary.stoppedBy === 'fail-fast' ? ' (stopped by --fail-fast)' : summary.stoppedBy === 'abort' ? ' (interrupted)' : '';
  const counts = `${targets.length} targets: ${succeeded.length} succeeded, ${failed.length} failed, ${cancelled.length} cancelled, ${skipped.length} not started${stopped}\n`;
  const rows = targets.filter((t) => t.status !== 'succeeded').map((t) => [`  ${t.name}`, t.status === 'skipped' ? 'not started' : t.status, outcomeDetail(t)]);
  return counts + renderRows(rows);
}

/** What went wrong with one target, on one line. */
function outcomeDetail(outcome: TargetOutcome): string {
  if (outcome.error !== undefined) {
    const { code, message } = explain(outcome.error);
    return terminalSafe(`${code}: ${message}`);
  }
  if (outcome.exitCode === undefined) return '';
  const shown = shellExitCode(outcome.exitCode);
  return `exit code ${outcome.exitCode}${shown === outcome.exitCode ? '' : ` (shown as ${shown})`}`;
}
