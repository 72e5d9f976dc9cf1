/**
 * `halibut probe <url>`: answers, step by step, the questions people ask when a Tentacle cannot be reached — is the
 * port open (through my proxy), does it speak TLS, which certificate does it present, is it the one I pinned, is it
 * Halibut, does it trust me, and what can it do.
 *
 * The checks are the library's: with our certificate and a pin, one `TentacleClient.healthCheck` answers them all on
 * one connection. Without a pin, discovery comes first, to show the certificate to pin (and Halibut's page); the
 * health check is then pinned to what it found. Without our certificate nothing can identify: discovery alone.
 */
import {
  AgentRejectedClientError,
  CertificateMismatchError,
  HalibutClient,
  NotHalibutPeerError,
  TentacleClient,
  discoverAgent,
  type CertificateIdentity,
  type DiscoveredAgent,
  type HealthCheckReport,
  type TentacleCapabilities,
} from '../../index.js';
import { flag, millisecondsValue, requirePositionals, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, CERTIFICATE_HELP, certificateOptions, loadOurCertificate, pinnedThumbprint, proxyOption } from '../connection-options.js';
import { CheckFailedError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { explain, type ExplainedError } from '../explain.js';
import { toJsonPretty } from '../json-output.js';
import { certificateLines, describePresented, type CertificateFields, type CertificateSummary } from '../presented.js';
import { terminalSafe } from '../terminal-text.js';

/** The step a probe stopped at. */
export type ProbeStep = 'connect' | 'tls' | 'page' | 'pin' | 'halibut' | 'trust' | 'capabilities';

/** What `probe --json` prints. Fields of steps that were not reached are null. */
export interface ProbeReport {
  url: string;
  /** True when every check that ran passed. */
  ok: boolean;
  /** The proxy used (`scheme://host:port`), or null for a direct connection. */
  proxy: string | null;
  /** True once TCP (and the proxy tunnel) connected. */
  reachable: boolean;
  tls: { version: string; cipher: string } | null;
  certificate: CertificateSummary | null;
  /** The answer to `HELLO`, when discovery ran (no pin or no certificate was given). */
  page: { statusLine: string; looksLikeHalibut: boolean; text: string; truncated: boolean } | null;
  /** The pin given with --thumbprint and whether the agent's certificate matches it; null when none was given. */
  pin: { expected: string; matches: boolean } | null;
  /** Whether the agent accepts our certificate; null when no certificate was given or the probe stopped earlier. */
  trust: { clientThumbprint: string; clientSubject: string; accepted: boolean } | null;
  /** Whether the agent identified as a Halibut service; null when the probe could not tell. */
  halibut: boolean | null;
  /** What the agent can do; null when the probe did not get that far. */
  capabilities: { supported: string[]; fallback: boolean; scriptService: string; kubernetes: boolean } | null;
  /** The health check's time per step, in milliseconds; null when no health check ran (no certificate). */
  latency: { connectMs: number | null; tlsMs: number | null; identifyMs: number | null; requestMs: number | null; totalMs: number } | null;
  /** The step that failed, or null. */
  failedStep: ProbeStep | null;
  error: ExplainedError | null;
}

export const probeCommand: Command = {
  name: 'probe',
  summary: 'Check step by step whether an agent is reachable, is Halibut, and trusts us',
  options: { ...certificateOptions, ...agentOptions },
  help: `Usage: halibut probe <url> [--thumbprint T] [--cert FILE --key FILE | --pfx FILE] [options]

Checks, in order, and stops at the first failure with the likely fix:
  tcp           the port accepts a connection (through the proxy, if one is given)
  tls           a TLS handshake works; shows the version
  certificate   the certificate the agent presents: subject, thumbprints, validity
  page          without --thumbprint or our certificate: the agent answers a browser with Halibut's page (not a
                web server or load balancer)
  pin           with --thumbprint: the certificate is the one you pinned
  halibut       with our certificate: the agent identifies as a Halibut service
  trust         with our certificate: the agent accepts it. If it closes the connection instead, it does not trust
                us; the probe prints our thumbprint and the Tentacle command that trusts it.
  capabilities  with our certificate: what the agent can do (ICapabilitiesServiceV2, as Octopus asks)

With our certificate and --thumbprint it is one connection: the library's health check. Without --thumbprint, the
certificate is learned first without trusting it (shown as unverified), and the health check is pinned to it.
Nothing runs on the agent.

${CERTIFICATE_HELP}

${AGENT_HELP}
  --json               print a report object (see docs/cli.md)

Exit codes: 0 every check passed, 1 a check failed, 2 usage error.

Examples:
  halibut probe https://tentacle-01:10933/
  halibut probe https://tentacle-01:10933/ -t 36F35047CE8B000CF4C671819A2DD1AFCDE3403D --pfx octopus.pfx
  HALIBUT_PROXY=http://proxy.corp:3128 halibut probe https://tentacle-01:10933/ --json`,
  async run(input, io) {
    const [url] = requirePositionals(input, ['<url>'], 'probe');
    const timeoutMs = millisecondsValue(input.values, 'timeout', 10_000, 'probe');
    const pin = pinnedThumbprint(input.values, io.env, 'probe');
    const proxy = proxyOption(input.values, io.env);
    // Load the certificate before touching the network: a wrong path is a quicker answer than a probe.
    const ours = await loadOurCertificate(input.values, io.env, 'probe');
    const probe = new ProbeRun(url!, pin, { proxy, timeoutMs, signal: io.interrupted });

    if (pin === undefined || ours === undefined) await probe.discover();
    if (ours !== undefined && probe.report.failedStep === null) await probe.healthCheck(ours, pin ?? probe.found!.certificate.thumbprint);

    const { report } = probe;
    report.ok = report.failedStep === null;
    if (flag(input.values, 'json')) io.out(toJsonPretty(report));
    else io.out(humanReport(report, probe.shown, ours, probe.found !== undefined));
    return report.ok ? ExitCode.ok : ExitCode.failed;
  },
};

/** How the probe reaches the agent. */
interface ProbeSettings {
  proxy: ReturnType<typeof proxyOption>;
  timeoutMs: number;
  signal: AbortSignal;
}

/** One run of the command: the report as it fills in, from discovery, from the health check, or from both. */
class ProbeRun {
  readonly report: ProbeReport;
  /** What discovery learned, when it ran. */
  found: DiscoveredAgent | undefined;
  /** The certificate shown to the person, with its dates. */
  shown: CertificateFields | undefined;
  readonly #pin: string | undefined;
  readonly #settings: ProbeSettings;

  constructor(url: string, pin: string | undefined, settings: ProbeSettings) {
    this.#pin = pin;
    this.#settings = settings;
    this.report = {
      url,
      ok: false,
      proxy: null,
      reachable: false,
      tls: null,
      certificate: null,
      page: null,
      pin: null,
      trust: null,
      halibut: null,
      capabilities: null,
      latency: null,
      failedStep: null,
      error: null,
    };
  }

  #fail(step: ProbeStep, err: unknown): void {
    this.report.failedStep = step;
    this.report.error = explain(err);
  }

  /** Learns the agent's certificate and page without a client certificate, and compares the certificate with the pin. */
  async discover(): Promise<void> {
    const { proxy, timeoutMs, signal } = this.#settings;
    const report = this.report;
    try {
      this.found = await discoverAgent(report.url, { proxy, connectTimeoutMs: timeoutMs, handshakeTimeoutMs: timeoutMs, pageTimeoutMs: timeoutMs, signal });
    } catch (err) {
      if (err instanceof TypeError) throw err; // a malformed URL or proxy: a usage error, reported as such
      const code = explain(err).code;
      const beforeTls = code === 'ERR_CONNECT' || code === 'ERR_HOST_NOT_FOUND' || code.startsWith('ERR_PROXY') || (code === 'ERR_TIMEOUT' && (err as { phase?: string }).phase !== 'handshake');
      report.reachable = !beforeTls;
      this.#fail(beforeTls ? 'connect' : 'tls', err);
      return;
    }
    const found = this.found;
    report.url = found.url;
    report.proxy = found.proxy ?? null;
    report.reachable = true;
    report.tls = { version: found.tlsVersion, cipher: found.cipher };
    report.certificate = describePresented(found.certificate);
    this.shown = found.certificate;
    if (found.page !== undefined) {
      report.page = { statusLine: found.page.statusLine, looksLikeHalibut: found.page.looksLikeHalibut, text: pageText(found.page.body), truncated: found.page.truncated };
    }
    if (found.page !== undefined && !found.page.looksLikeHalibut) {
      this.#fail(
        'page',
        new CheckFailedError(
          `The agent answered '${found.page.statusLine}', not Halibut's page: this is not a listening Tentacle`,
          'A TLS-terminating load balancer or another HTTPS server answers on this port: use TCP pass-through, connect to the Tentacle directly, or check the port.',
        ),
      );
    } else if (this.#pin !== undefined) {
      report.pin = { expected: this.#pin, matches: this.#pin === found.certificate.thumbprint };
      if (!report.pin.matches) this.#fail('pin', new CertificateMismatchError(found.url, [this.#pin], found.certificate.thumbprint, found.certificate.subject));
    }
  }

  /**
   * The library's health check, pinned to `thumbprint`. After discovery it adds trust, Halibut and the capabilities;
   * on its own (a pin was given) it is the whole probe.
   */
  async healthCheck(ours: CertificateIdentity, thumbprint: string): Promise<void> {
    const { proxy, timeoutMs, signal } = this.#settings;
    const client = new HalibutClient({
      certificate: ours,
      proxy,
      connectTimeoutMs: timeoutMs,
      handshakeTimeoutMs: timeoutMs,
      // The probe's request must be answered within the heartbeat limit.
      heartbeatTimeoutMs: timeoutMs,
    });
    let health: HealthCheckReport;
    try {
      health = await new TentacleClient(client).healthCheck({ url: this.report.url, thumbprint }, { signal });
    } finally {
      await client.close();
    }
    this.#record(health, ours);
  }

  #record(health: HealthCheckReport, ours: CertificateIdentity): void {
    const report = this.report;
    const afterDiscovery = this.found !== undefined;
    report.latency = roundedLatency(health.latency);
    report.halibut = health.halibut;
    if (health.trusted !== null) report.trust = { clientThumbprint: ours.thumbprint, clientSubject: ours.subject, accepted: health.trusted };
    if (health.capabilities !== null) report.capabilities = capabilitiesJson(health.capabilities);
    if (!afterDiscovery) {
      report.url = health.url;
      report.proxy = health.proxy;
      report.reachable = health.reachable;
      report.tls = health.tls;
      if (health.certificate !== null) {
        report.certificate = describePresented(health.certificate);
        this.shown = health.certificate;
      }
      if (health.pinMatched !== null) report.pin = { expected: this.#pin!, matches: health.pinMatched };
    }
    const { failure } = health;
    if (failure === null) return;
    if (afterDiscovery && report.trust === null) {
      // Discovery already answered the earlier steps; a failure before identification (the agent went away, or
      // now presents another certificate) is where the trust check stopped, as it was reported before.
      report.trust = { clientThumbprint: ours.thumbprint, clientSubject: ours.subject, accepted: false };
    }
    this.#fail(cliStep(failure.step, failure.error, afterDiscovery), failure.error);
  }
}

/** The command's step for a health check's failure. */
function cliStep(step: NonNullable<HealthCheckReport['failure']>['step'], error: Error, afterDiscovery: boolean): ProbeStep {
  switch (step) {
    case 'connect':
    case 'tls':
    case 'pin':
      return afterDiscovery ? 'trust' : step;
    case 'identify':
      if (error instanceof AgentRejectedClientError) return 'trust';
      return error instanceof NotHalibutPeerError || !afterDiscovery ? 'halibut' : 'trust';
    case 'request':
    case 'capabilities':
      return 'capabilities';
  }
}

function capabilitiesJson(capabilities: TentacleCapabilities): NonNullable<ProbeReport['capabilities']> {
  const { supported, fallback, scriptService, kubernetes } = capabilities;
  return { supported: [...supported], fallback, scriptService, kubernetes };
}

function roundedLatency(latency: HealthCheckReport['latency']): NonNullable<ProbeReport['latency']> {
  const round = (ms: number | null): number | null => (ms === null ? null : Math.round(ms * 100) / 100);
  return { connectMs: round(latency.connectMs), tlsMs: round(latency.tlsMs), identifyMs: round(latency.identifyMs), requestMs: round(latency.requestMs), totalMs: round(latency.totalMs)! };
}

/** The page's text without markup, on one line, short: enough to recognise Halibut's or Tentacle's page. */
function pageText(html: string): string {
  const text = html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x1F\x7F\s]+/g, ' ')
    .trim();
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

const INDENT = '                     ';

function humanReport(report: ProbeReport, shown: CertificateFields | undefined, ours: CertificateIdentity | undefined, discovered: boolean): string {
  const lines: string[] = [`Probing ${report.url}`];
  const step = (status: 'ok' | 'FAIL' | 'skip' | 'note', name: string, text: string): void => {
    lines.push(`  ${status.padEnd(5)} ${name.padEnd(12)} ${text}`);
  };
  const failure = (label: string): void => {
    const error = report.error!;
    step('FAIL', label, terminalSafe(error.message));
    if (error.hint !== undefined) lines.push(`        fix: ${terminalSafe(error.hint)}`);
  };
  const failed = report.failedStep;

  if (failed === 'connect') failure('tcp');
  else step('ok', 'tcp', report.tls === null ? 'connected' : `connected${report.proxy === null ? ' directly' : ` through proxy ${report.proxy}`}`);
  if (failed === 'tls') failure('tls');
  if (report.tls !== null) step('ok', 'tls', `${report.tls.version} (${report.tls.cipher})`);
  if (shown !== undefined) {
    step('ok', 'certificate', terminalSafe(shown.subject));
    lines.push(certificateLines(shown, INDENT).trimEnd());
  }
  if (discovered && report.tls !== null) {
    if (failed === 'page') failure('page');
    else if (report.page === null) step('note', 'page', 'no answer to HELLO (the certificate above is what counts)');
    else step('ok', 'page', `${terminalSafe(report.page.statusLine)}: Halibut's page${report.page.text === '' ? '' : ` ("${report.page.text}")`}`);
  }
  if (failed === 'pin') failure('pin');
  else if (report.pin !== null) step('ok', 'pin', `matches ${report.pin.expected}`);
  else if (discovered && (failed === null || failed === 'trust')) step('note', 'pin', 'no --thumbprint given: the thumbprint above is unverified; compare it with Tentacle show-thumbprint');
  if (failed === 'halibut') failure('halibut');
  else if (!discovered && report.halibut === true) step('ok', 'halibut', 'the agent identified as a Halibut service');
  if (report.trust !== null && ours !== undefined) {
    if (report.trust.accepted) step('ok', 'trust', `the agent accepts our certificate ${ours.thumbprint} (${ours.subject})`);
    else {
      failure('trust');
      if (report.error?.code === 'ERR_AGENT_REJECTED_CLIENT') lines.push(`${INDENT}our thumbprint: ${ours.thumbprint}`);
    }
  } else if (failed === null && ours === undefined) {
    step('skip', 'trust', 'give our certificate (--cert/--key or --pfx) to check whether the agent trusts us');
  }
  if (failed === 'capabilities') failure('capabilities');
  else if (report.capabilities !== null) {
    const list = terminalSafe(report.capabilities.supported.join(', '));
    if (report.capabilities.fallback) step('note', 'capabilities', `no capabilities service (a Tentacle before 6.3, or not a Tentacle): ${list} assumed`);
    else step('ok', 'capabilities', list);
  }
  lines.push(report.ok ? 'Result: OK' : `Result: FAILED at ${failed ?? ''}`);
  return `${lines.join('\n')}\n`;
}
