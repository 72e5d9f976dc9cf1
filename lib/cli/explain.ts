/**
 * Turning an error into one line a person can act on: what happened and the likely fix. The library's messages
 * already say what happened precisely; the hint adds where to look, which depends on the error's class and fields.
 */
import {
  AgentRejectedClientError,
  CertificateFormatError,
  CertificateKeyMismatchError,
  CertificateMismatchError,
  CertificatePasswordError,
  ConnectError,
  HalibutError,
  HostNotFoundError,
  NotHalibutPeerError,
  NotTlsError,
  PhaseTimeoutError,
  ProxyAuthenticationError,
  ProxyError,
  ProxyProtocolError,
  ProxyRefusedError,
  RemoteError,
  RemoteFileNotFoundError,
  ScriptCancelTimeoutError,
  ScriptNotFoundError,
  ScriptTicketUnsupportedError,
  ScriptStartUncertainError,
  ScriptTimeoutError,
  ServiceNotFoundError,
  MethodNotFoundError,
  TlsHandshakeError,
  UnsupportedScriptServiceError,
  UploadVerificationError,
} from '../index.js';
import { CheckFailedError, TargetsFileError, UsageError } from './errors.js';

/** An error as the tool reports it, in words and in `--json`. */
export interface ExplainedError {
  /** The library's stable code (`ERR_CONNECT`…), the OS code for file errors (`ENOENT`…), or `ERR_UNEXPECTED`. */
  code: string;
  message: string;
  /** The likely fix, in one sentence; absent when there is nothing useful to add. */
  hint?: string;
}

/** Describes `error` with a hint. */
export function explain(error: unknown): ExplainedError {
  if (!(error instanceof Error)) return { code: 'ERR_UNEXPECTED', message: String(error) };
  const hint = hintFor(error);
  const code = error instanceof HalibutError ? error.code : typeof (error as NodeJS.ErrnoException).code === 'string' ? (error as NodeJS.ErrnoException).code! : 'ERR_UNEXPECTED';
  return hint === undefined ? { code, message: error.message } : { code, message: error.message, hint };
}

function hintFor(error: Error): string | undefined {
  if (error instanceof CheckFailedError) return error.hint;
  if (error instanceof TargetsFileError) return 'Each line of a targets file is  name https://host:port/ THUMBPRINT  (blank lines and # comments are ignored); nothing was sent to any agent.';
  if (error instanceof UsageError) return `See: halibut ${error.command ?? ''}${error.command === undefined ? '' : ' '}--help`;
  if (error instanceof HostNotFoundError) return 'Check the host name, or this machine\'s DNS settings (behind a proxy, use --proxy so that the proxy resolves it).';
  if (error instanceof ConnectError) {
    if (error.syscallCode === 'ECONNREFUSED') return 'Nothing is listening there, or a firewall rejects the connection: check that the Tentacle service is running, the port (10933 by default), and the firewall.';
    return 'Check the network path to the agent: routing, firewalls, or a proxy this machine must use (--proxy).';
  }
  if (error instanceof PhaseTimeoutError) {
    if (error.phase === 'connect') return 'No answer at all: a firewall is probably dropping the packets, or the host is down. Check the firewall and the port.';
    if (error.phase === 'proxy') return 'The proxy did not open the tunnel in time: check the proxy, or whether it can reach the agent.';
    if (error.phase === 'handshake') return 'The port accepted the connection but no TLS came back: is something else listening there (wrong port)?';
    return 'The agent stopped answering: it may be overloaded, or a middlebox is dropping the connection.';
  }
  if (error instanceof NotTlsError) return 'Wrong port, or a plain HTTP server: a listening Tentacle speaks TLS (on 10933 by default).';
  if (error instanceof TlsHandshakeError) return 'The TLS handshake failed: an old TLS version (1.2 or later is needed), an inspecting proxy or a middlebox may be interfering.';
  if (error instanceof CertificateMismatchError)
    return 'Wrong pin: if the agent\'s certificate was replaced, update the thumbprint (Tentacle show-thumbprint); otherwise something else answers there, e.g. a TLS-terminating load balancer.';
  if (error instanceof NotHalibutPeerError)
    return 'TLS works but the peer is not Halibut: a TLS-terminating load balancer or another HTTPS server is in the way. Use TCP pass-through, or connect to the Tentacle directly.';
  if (error instanceof AgentRejectedClientError)
    return `The agent does not trust our certificate: on the Tentacle run  Tentacle configure --trust ${error.clientThumbprint}  and restart it.`;
  if (error instanceof ProxyAuthenticationError) return 'The proxy wants credentials: put them in the proxy URL (http://user:password@host:port), preferably through HALIBUT_PROXY.';
  if (error instanceof ProxyRefusedError)
    return error.status === 403
      ? 'The proxy refuses this destination: ask for the agent\'s host and port to be allowed, or bypass the proxy (--proxy none, or NO_PROXY with --proxy env).'
      : 'The proxy could not reach the agent: check the agent\'s address from the proxy\'s side, or bypass the proxy.';
  if (error instanceof ProxyProtocolError) return 'That address does not behave like a proxy: check the --proxy URL and its scheme (http:, https:, socks5:).';
  if (error instanceof ProxyError) return 'Check the --proxy URL, and that the proxy is running and reachable.';
  if (error instanceof ServiceNotFoundError) return 'The agent has no service by that name: check the spelling (the interface name without namespace, e.g. IScriptServiceV2).';
  if (error instanceof MethodNotFoundError) return 'The service has no such method: use the .NET name without the Async suffix.';
  if (error instanceof RemoteFileNotFoundError)
    return 'Check the remote path: a relative one is resolved on the agent, not here, so an absolute path is the safer way to name a file.';
  if (error instanceof UploadVerificationError) return 'The file on the agent is not what was sent: upload it again, and check the agent\'s disk space if it happens again.';
  if (error instanceof ScriptTimeoutError) return 'The script was cancelled on the agent: give it longer with --script-timeout, or find out why it hangs (--verbose shows the agent\'s own log lines).';
  if (error instanceof ScriptCancelTimeoutError) return 'The agent did not confirm that the script stopped: check on the agent whether it still runs.';
  if (error instanceof ScriptNotFoundError) return 'The agent has no script with that ticket: it finished and was cleaned up, or never started there.';
  if (error instanceof ScriptTicketUnsupportedError) return 'This agent offers only the V1 script service, which chooses its own tickets: run without a ticket.';
  if (error instanceof ScriptStartUncertainError) return 'Check on the agent whether the script ran before running it again (the old script service cannot tell).';
  if (error instanceof UnsupportedScriptServiceError) return 'halibut run drives Tentacle\'s script services; a Kubernetes agent runs scripts in pods, through Octopus.';
  if (error instanceof RemoteError) return undefined;
  if (error instanceof CertificatePasswordError) return 'Set the password in HALIBUT_PFX_PASSWORD (PFX) or the passphrase in HALIBUT_KEY_PASSPHRASE (PEM key).';
  if (error instanceof CertificateKeyMismatchError) return 'Give the key file that was created together with this certificate.';
  if (error instanceof CertificateFormatError) return 'Give a PEM or DER certificate with --cert and --key, or a PFX with --pfx.';
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'Check the file path.';
  if (code === 'EACCES' || code === 'EPERM') return 'Check the file\'s permissions.';
  return undefined;
}
