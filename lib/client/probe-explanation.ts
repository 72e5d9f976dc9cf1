/**
 * One line per kind of probe failure, for a person reading a fleet's health table: what the failure most likely
 * means, in fewer words than the error's message (which says precisely what happened and stays in the report).
 */
import { CertificateMismatchError } from '../certificates/pinning.js';
import { PhaseTimeoutError, type HalibutError } from '../errors.js';
import { AgentRejectedClientError, ConnectionClosedError, NotHalibutPeerError, ProtocolError } from '../protocol/errors.js';
import { RemoteError } from '../protocol/remote-errors.js';
import { ConnectError, HostNotFoundError, NotTlsError, ProxyAuthenticationError, ProxyError, ProxyProtocolError, ProxyRefusedError, TlsHandshakeError } from '../transport/errors.js';
import { ProbeAbortedError } from './errors.js';
import type { ProbeStep } from './probe-report.js';

/** The longest quote of what a peer sent that goes into an explanation. */
const MAX_QUOTE = 60;

/** Explains why a probe of `url` failed at `step` with `error`, in one line. */
export function explainProbeFailure(url: string, step: string, error: HalibutError): string {
  if (error instanceof ProbeAbortedError) return `the probe was aborted during ${error.step}`;
  if (error instanceof PhaseTimeoutError) return explainTimeout(step, error);
  if (error instanceof HostNotFoundError) return `the host name in ${url} does not resolve`;
  if (error instanceof ConnectError) {
    return error.syscallCode === 'ECONNREFUSED'
      ? 'connection refused: nothing listens on that port, or a firewall rejects the connection'
      : `no TCP connection (${error.syscallCode ?? 'failed'}): check the network path to the agent`;
  }
  if (error instanceof ProxyAuthenticationError) return 'the proxy wants (other) credentials';
  if (error instanceof ProxyRefusedError) return `the proxy would not reach the agent${error.status === undefined ? '' : ` (HTTP ${error.status})`}`;
  if (error instanceof ProxyProtocolError) return 'the proxy does not behave like a proxy';
  if (error instanceof ProxyError) return 'the proxy failed';
  if (error instanceof NotTlsError) return 'the port does not speak TLS: a plain HTTP server or another protocol, not a listening Tentacle';
  if (error instanceof TlsHandshakeError) return 'the TLS handshake failed: an old TLS version, an inspecting proxy or a middlebox';
  if (error instanceof CertificateMismatchError) return `the agent presents ${error.actual} (${quote(error.subject)}), not the pinned ${error.expected.join(' or ')}`;
  if (error instanceof AgentRejectedClientError) return `the agent does not trust our certificate ${error.clientThumbprint}`;
  if (error instanceof NotHalibutPeerError) return `TLS works but the peer is not Halibut: it answered ${quote(error.firstLine)}`;
  if (error instanceof RemoteError) return `the agent answered with an error: ${quote(error.serverMessage)}`;
  if (step === 'request' && error instanceof ConnectionClosedError) return 'the agent identified, then closed the connection without answering';
  if (error instanceof ProtocolError) return `the agent broke the Halibut protocol during ${stepName(step)}`;
  return `${error.code} during ${stepName(step)}`;
}

function explainTimeout(step: string, error: PhaseTimeoutError): string {
  const within = `within ${error.timeoutMs} ms`;
  switch (error.phase) {
    case 'connect':
      return `no answer to the TCP connection ${within}: a firewall dropping packets, or the host is down`;
    case 'proxy':
      return `the proxy did not open its tunnel ${within}`;
    case 'handshake':
      return `the port accepted the connection but no TLS handshake completed ${within}`;
    case 'identification':
      return `the agent did not identify ${within}`;
    case 'response':
      return `the agent identified but did not answer the probe's request ${within}`;
    default:
      return `no progress ${within} during ${stepName(step)}`;
  }
}

function stepName(step: string): string {
  const names: Partial<Record<ProbeStep, string>> = { connect: 'the TCP connection', tls: 'the TLS handshake', identify: 'identification', request: "the probe's request" };
  return names[step as ProbeStep] ?? step;
}

/** Peer-supplied text, quoted on one line and cut short. */
function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTE ? `${text.slice(0, MAX_QUOTE)}…` : text);
}
