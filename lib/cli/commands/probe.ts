/**
 * `halibut probe <url>`: answers, step by step, the questions people ask when a Tentacle cannot be reached — is the
 * port open (through my proxy), does it speak TLS, which certificate does it present, is it Halibut, is it the one I
 * pinned, and does it trust me.
 */
import { HalibutClient, RemoteError, discoverAgent, type CertificateIdentity, type DiscoveredAgent } from '../../index.js';
import { flag, millisecondsValue, requirePositionals, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, CERTIFICATE_HELP, certificateOptions, loadOurCertificate, pinnedThumbprint, proxyOption } from '../connection-options.js';
import { CheckFailedError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { explain, type ExplainedError } from '../explain.js';
import { toJsonPretty } from '../json-output.js';
import { certificateLines, describePresented, type CertificateSummary } from '../presented.js';
import { terminalSafe } from '../terminal-text.js';

/** The step a probe stopped at. */
export type ProbeStep = 'connect' | 'tls' | 'page' | 'pin' | 'trust';

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
  page: { statusLine: string; looksLikeHalibut: boolean; text: string; truncated: boolean } | null;
  /** The pin given with --thumbprint and whether the agent's certificate matches it; null when none was given. */
  pin: { expected: string; matches: boolean } | null;
  /** Whether the agent accepts our certificate; null when no certificate was given or the probe stopped earlier. */
  trust: { clientThumbprint: string; clientSubject: string; accepted: boolean } | null;
  /** The step that failed, or null. */
  failedStep: ProbeStep | null;
  error: ExplainedError | null;
}

/** The service name used to test identification. No agent has it; its "not found" answer proves we got in. */
const ABSENT_SERVICE = 'IHalibutCliProbeService';

export const probeCommand: Command = {
  name: 'probe',
  summary: 'Check step by step whether an agent is reachable, is Halibut, and trusts us',
  options: { ...certificateOptions, ...agentOptions },
  help: `Usage: halibut probe <url> [--thumbprint T] [--cert FILE --key FILE | --pfx FILE] [options]

Checks, in order, and stops at the first failure with the likely fix:
  tcp          the port accepts a connection (through the proxy, if one is given)
  tls          a TLS handshake works; shows the version
  certificate  the certificate the agent presents: subject, thumbprints, validity
  page         the agent answers a browser with Halibut's page (not a web server or load balancer)
  pin          with --thumbprint: the certificate is the one you pinned
  trust        with our certificate: the agent accepts it. If it closes the connection instead, it does not trust
               us; the probe prints our thumbprint and the Tentacle command that trusts it.

The trust check makes one call to a service no agent has (${ABSENT_SERVICE}); the agent's "service not found"
answer proves that it accepted us. Nothing runs on the agent.

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

    const report: ProbeReport = {
      url: url!,
      ok: false,
      proxy: null,
      reachable: false,
      tls: null,
      certificate: null,
      page: null,
      pin: null,
      trust: null,
      failedStep: null,
      error: null,
    };
    const fail = (step: ProbeStep, err: unknown): void => {
      report.failedStep = step;
      report.error = explain(err);
    };

    let found: DiscoveredAgent | undefined;
    try {
      found = await discoverAgent(url!, { proxy, connectTimeoutMs: timeoutMs, handshakeTimeoutMs: timeoutMs, pageTimeoutMs: timeoutMs, signal: io.interrupted });
    } catch (err) {
      if (err instanceof TypeError) throw err; // a malformed URL or proxy: a usage error, reported as such
      const code = explain(err).code;
      const beforeTls = code === 'ERR_CONNECT' || code === 'ERR_HOST_NOT_FOUND' || code.startsWith('ERR_PROXY') || (code === 'ERR_TIMEOUT' && (err as { phase?: string }).phase !== 'handshake');
      report.reachable = !beforeTls;
      fail(beforeTls ? 'connect' : 'tls', err);
    }

    if (found !== undefined) {
      report.url = found.url;
      report.proxy = found.proxy ?? null;
      report.reachable = true;
      report.tls = { version: found.tlsVersion, cipher: found.cipher };
      report.certificate = describePresented(found.certificate);
      if (found.page !== undefined) {
        report.page = { statusLine: found.page.statusLine, looksLikeHalibut: found.page.looksLikeHalibut, text: pageText(found.page.body), truncated: found.page.truncated };
      }
      if (found.page !== undefined && !found.page.looksLikeHalibut) {
        fail(
          'page',
          new CheckFailedError(
            `The agent answered '${found.page.statusLine}', not Halibut's page: this is not a listening Tentacle`,
            'A TLS-terminating load balancer or another HTTPS server answers on this port: use TCP pass-through, connect to the Tentacle directly, or check the port.',
          ),
        );
      } else if (pin !== undefined) {
        report.pin = { expected: pin, matches: pin === found.certificate.thumbprint };
        if (!report.pin.matches) {
          fail(
            'pin',
            new CheckFailedError(
              `The agent presents ${found.certificate.thumbprint} (${found.certificate.subject}), not the pinned ${pin}`,
              "Wrong pin: if the agent's certificate was replaced, pin the new one (Tentacle show-thumbprint prints it); otherwise something else answers there.",
            ),
          );
        }
      }
      if (report.failedStep === null && ours !== undefined) {
        await checkTrust(found, pin ?? found.certificate.thumbprint, ours, { proxy, timeoutMs, signal: io.interrupted }, report, fail);
      }
    }

    report.ok = report.failedStep === null;
    if (flag(input.values, 'json')) io.out(toJsonPretty(report));
    else io.out(humanReport(report, found, ours));
    return report.ok ? ExitCode.ok : ExitCode.failed;
  },
};

async function checkTrust(
  found: DiscoveredAgent,
  thumbprint: string,
  ours: CertificateIdentity,
  options: { proxy: ReturnType<typeof proxyOption>; timeoutMs: number; signal: AbortSignal },
  report: ProbeReport,
  fail: (step: ProbeStep, err: unknown) => void,
): Promise<void> {
  report.trust = { clientThumbprint: ours.thumbprint, clientSubject: ours.subject, accepted: false };
  const client = new HalibutClient({
    certificate: ours,
    proxy: options.proxy,
    // One attempt: a probe reports what happened, it does not paper over it.
    retry: false,
    connectTimeoutMs: options.timeoutMs,
    handshakeTimeoutMs: options.timeoutMs,
    responseTimeoutMs: options.timeoutMs,
    maxIdlePerEndpoint: 0,
  });
  try {
    await client.call({ url: found.url, thumbprint }, { service: ABSENT_SERVICE, method: 'Probe', params: [] }, { signal: options.signal });
    report.trust.accepted = true;
  } catch (err) {
    // Any answer from the agent, even an error, means it identified us and read our request.
    if (err instanceof RemoteError) report.trust.accepted = true;
    else fail('trust', err);
  } finally {
    await client.close();
  }
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

function humanReport(report: ProbeReport, found: DiscoveredAgent | undefined, ours: CertificateIdentity | undefined): string {
  const lines: string[] = [`Probing ${report.url}`];
  const step = (status: 'ok' | 'FAIL' | 'skip' | 'note', name: string, text: string): void => {
    lines.push(`  ${status.padEnd(5)} ${name.padEnd(12)} ${text}`);
  };
  const failure = (label: string): void => {
    const error = report.error!;
    step('FAIL', label, terminalSafe(error.message));
    if (error.hint !== undefined) lines.push(`        fix: ${terminalSafe(error.hint)}`);
  };

  if (report.failedStep === 'connect') failure('tcp');
  else step('ok', 'tcp', found === undefined ? 'connected' : `connected${found.proxy === undefined ? ' directly' : ` through proxy ${found.proxy}`}`);
  if (report.failedStep === 'tls') failure('tls');
  if (found !== undefined) {
    step('ok', 'tls', `${found.tlsVersion} (${found.cipher})`);
    step('ok', 'certificate', terminalSafe(found.certificate.subject));
    lines.push(certificateLines(found.certificate, INDENT).trimEnd());
    if (report.failedStep === 'page') failure('page');
    else if (report.page === null) step('note', 'page', 'no answer to HELLO (the certificate above is what counts)');
    else step('ok', 'page', `${terminalSafe(report.page.statusLine)}: Halibut's page${report.page.text === '' ? '' : ` ("${report.page.text}")`}`);
    if (report.failedStep === 'pin') failure('pin');
    else if (report.pin !== null) step('ok', 'pin', `matches ${report.pin.expected}`);
    else if (report.failedStep === null || report.failedStep === 'trust') step('note', 'pin', 'no --thumbprint given: the thumbprint above is unverified; compare it with Tentacle show-thumbprint');
    if (report.trust !== null && ours !== undefined) {
      if (report.trust.accepted) step('ok', 'trust', `the agent accepts our certificate ${ours.thumbprint} (${ours.subject})`);
      else {
        failure('trust');
        if (report.error?.code === 'ERR_AGENT_REJECTED_CLIENT') lines.push(`${INDENT}our thumbprint: ${ours.thumbprint}`);
      }
    } else if (report.failedStep === null) {
      step('skip', 'trust', 'give our certificate (--cert/--key or --pfx) to check whether the agent trusts us');
    }
  }
  lines.push(report.ok ? 'Result: OK' : `Result: FAILED at ${report.failedStep ?? ''}`);
  return `${lines.join('\n')}\n`;
}
