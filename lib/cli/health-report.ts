/**
 * What `halibut health` reports per target, in JSON and as a table. One shape for every outcome, so that a refused
 * port, a wrong pin or an agent that does not trust us is a row like any other.
 */
import type { HealthCheckReport } from '../index.js';
import { describePresented, type CertificateSummary } from './presented.js';
import { renderTable } from './table.js';
import type { FileTarget } from './targets-file.js';
import { terminalSafe } from './terminal-text.js';

/**
 * One target's health. `skipped` means it was never checked, because Ctrl-C stopped the sweep first; a check that
 * was in flight then is `failed`, with `ERR_ABORTED`.
 */
export interface TargetHealth {
  name: string;
  /** Normalised, `https://host:port/`. */
  url: string;
  status: 'ok' | 'failed' | 'skipped';
  /** The negotiated TLS version (`TLSv1.3`), once a handshake completed. */
  tls: string | null;
  /** The whole check, in milliseconds (two decimals). */
  latencyMs: number | null;
  /** The certificate the agent presented, once a handshake completed, whether or not it is the pinned one. */
  certificate: (CertificateSummary & { daysToExpiry: number }) | null;
  /** Whether that certificate is the one on the target's line; null before the handshake completed. */
  pinMatched: boolean | null;
  /** Whether the agent identified as Halibut; null when the check could not tell. */
  halibut: boolean | null;
  /** Whether the agent accepts our certificate; null when the check did not get that far. */
  trusted: boolean | null;
  /** What the agent can do, when it said. */
  capabilities: string[] | null;
  /** Why the check failed: the step, the library's error code and message, and a one-line explanation. */
  failure: { step: string; code: string; message: string; explanation: string } | null;
}

/** What `health --json` prints: counts, then every target in file order. */
export interface HealthDocument {
  /** True when every target is healthy. */
  ok: boolean;
  total: number;
  healthy: number;
  failed: number;
  skipped: number;
  targets: TargetHealth[];
}

/** A target's row from its health check's report, or a skipped row when it was never checked. */
export function targetHealth(target: FileTarget, report: HealthCheckReport | undefined): TargetHealth {
  if (report === undefined) {
    return { name: target.name, url: target.url, status: 'skipped', tls: null, latencyMs: null, certificate: null, pinMatched: null, halibut: null, trusted: null, capabilities: null, failure: null };
  }
  const { failure, certificate } = report;
  return {
    name: target.name,
    url: report.url,
    status: report.ok ? 'ok' : 'failed',
    tls: report.tls?.version ?? null,
    latencyMs: Math.round(report.latency.totalMs * 100) / 100,
    certificate: certificate === null ? null : { ...describePresented(certificate), daysToExpiry: certificate.daysToExpiry },
    pinMatched: report.pinMatched,
    halibut: report.halibut,
    trusted: report.trusted,
    capabilities: report.capabilities === null ? null : [...report.capabilities.supported],
    failure: failure === null ? null : { step: failure.step, code: failure.error.code, message: failure.error.message, explanation: failure.explanation },
  };
}

/** The JSON document for `rows`. */
export function healthDocument(rows: TargetHealth[]): HealthDocument {
  const count = (status: TargetHealth['status']): number => rows.filter((r) => r.status === status).length;
  const healthy = count('ok');
  return { ok: healthy === rows.length, total: rows.length, healthy, failed: count('failed'), skipped: count('skipped'), targets: rows };
}

/** The table for people: one row per target, in file order; for a failure, its step and one-line explanation. */
export function healthTable(rows: readonly TargetHealth[]): string {
  return renderTable(
    ['NAME', 'URL', 'STATUS', 'TLS', 'LATENCY', 'CERT EXPIRES', 'DETAIL'],
    rows.map((r) => [
      r.name,
      r.url,
      r.status,
      r.tls === null ? '-' : terminalSafe(r.tls),
      r.latencyMs === null ? '-' : `${r.latencyMs < 100 ? r.latencyMs.toFixed(1) : Math.round(r.latencyMs)} ms`,
      r.certificate === null ? '-' : expiry(r.certificate.daysToExpiry),
      detail(r),
    ]),
  );
}

/** One line for standard error after the table. */
export function healthSummary(document: HealthDocument, interrupted: boolean): string {
  const skipped = document.skipped === 0 ? '' : `, ${document.skipped} not checked`;
  return `${document.total} targets: ${document.healthy} healthy, ${document.failed} failed${skipped}${interrupted ? ' (interrupted)' : ''}\n`;
}

function expiry(days: number): string {
  if (days < 0) return `expired ${-days} d ago`;
  return `in ${days} d`;
}

function detail(row: TargetHealth): string {
  if (row.status === 'skipped') return 'not checked (interrupted)';
  if (row.failure === null) return '';
  // The explanation may quote what the agent sent: escaped, so that it cannot drive the terminal.
  return terminalSafe(`${row.failure.step}: ${row.failure.explanation}`);
}
