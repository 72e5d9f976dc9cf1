/**
 * The options every command that talks to an agent shares — our certificate, the agent's pin, the proxy, the
 * timeout — read from the command line first and the HALIBUT_* environment variables second. Secrets (PFX password,
 * key passphrase) come from the environment only, so they never show in `ps` or shell history.
 */
import { AgentRejectedClientError, CertificateMismatchError, ConnectError, HalibutClient, loadCertificateFiles, normalizeThumbprint, type CertificateIdentity, type Endpoint, type ProxyOption, type RetryOptions } from '../index.js';
import { millisecondsValue, stringValue, type OptionSpecs, type OptionValues } from './command.js';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

/** Environment variables the tool reads, by purpose. Documented in docs/cli.md. */
export const ENV = {
  cert: 'HALIBUT_CERT',
  key: 'HALIBUT_KEY',
  keyPassphrase: 'HALIBUT_KEY_PASSPHRASE',
  pfx: 'HALIBUT_PFX',
  pfxPassword: 'HALIBUT_PFX_PASSWORD',
  thumbprint: 'HALIBUT_THUMBPRINT',
  proxy: 'HALIBUT_PROXY',
} as const;

/** The variables naming one identity's files and secrets. */
export interface IdentityVariables {
  /** The certificate file (PEM or DER). */
  cert: string;
  /** Its private key file. */
  key: string;
  /** The key's passphrase. */
  keyPassphrase: string;
  /** A PFX / PKCS#12 file instead of the two above. */
  pfx: string;
  /** The PFX password. */
  pfxPassword: string;
}

/**
 * `halibut agent`'s own identity: variables of its own, so that the client's HALIBUT_CERT & co. set in the same shell
 * never make the agent present the client's certificate.
 */
export const AGENT_ENV: IdentityVariables = {
  cert: 'HALIBUT_AGENT_CERT',
  key: 'HALIBUT_AGENT_KEY',
  keyPassphrase: 'HALIBUT_AGENT_KEY_PASSPHRASE',
  pfx: 'HALIBUT_AGENT_PFX',
  pfxPassword: 'HALIBUT_AGENT_PFX_PASSWORD',
};

/** `--cert`, `--key`, `--pfx`: our identity. */
export const certificateOptions: OptionSpecs = {
  cert: { type: 'string' },
  key: { type: 'string' },
  pfx: { type: 'string' },
};

/** `--thumbprint`, `--proxy`, `--timeout`. */
export const agentOptions: OptionSpecs = {
  thumbprint: { type: 'string', short: 't' },
  proxy: { type: 'string' },
  timeout: { type: 'string' },
};

/** Help text for {@link certificateOptions}. */
export const CERTIFICATE_HELP = `Our certificate, the client's identity (the agent must trust its thumbprint):
  --cert FILE          certificate, PEM or DER               (env HALIBUT_CERT)
  --key FILE           its private key; passphrase from env HALIBUT_KEY_PASSPHRASE
                                                             (env HALIBUT_KEY)
  --pfx FILE           or a PFX/PKCS#12 file; password from env HALIBUT_PFX_PASSWORD
                                                             (env HALIBUT_PFX)`;

/** Help text for {@link agentOptions}. */
export const AGENT_HELP = `Reaching the agent:
  -t, --thumbprint T   the agent's certificate thumbprint to pin (env HALIBUT_THUMBPRINT)
  --proxy URL          http://[user:pass@]host:port, socks5://host:port, 'env' to follow
                       HTTPS_PROXY/NO_PROXY, or 'none' (default)          (env HALIBUT_PROXY)
  --timeout MS         connect and TLS handshake deadline, each (default 10000)`;

/**
 * Loads a certificate from the options or the environment; undefined when none was named. `variables` says which
 * identity's variables to read: the client's (HALIBUT_CERT…, the default) or the agent's (HALIBUT_AGENT_CERT…).
 */
export async function loadOurCertificate(values: OptionValues, env: CliIo['env'], command: string, variables: IdentityVariables = ENV): Promise<CertificateIdentity | undefined> {
  const fromArgs = ['cert', 'key', 'pfx'].some((name) => stringValue(values, name) !== undefined);
  const pick = (option: string, variable: string): string | undefined => (fromArgs ? stringValue(values, option) : nonEmpty(env[variable]));
  const cert = pick('cert', variables.cert);
  const key = pick('key', variables.key);
  const pfx = pick('pfx', variables.pfx);
  if (pfx !== undefined) {
    if (cert !== undefined || key !== undefined) throw new UsageError('Give either --pfx or --cert and --key, not both', command);
    return loadCertificateFiles({ pfx, password: env[variables.pfxPassword] });
  }
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined) throw new UsageError('--key needs --cert (the certificate file)', command);
  // A file holding both certificate and key is common (openssl pkcs12 -nodes writes one); then --cert is enough.
  return loadCertificateFiles({ cert, key: key ?? cert, passphrase: env[variables.keyPassphrase] });
}

/** The pinned thumbprint from `--thumbprint` or HALIBUT_THUMBPRINT, normalised; undefined when neither is set. */
export function pinnedThumbprint(values: OptionValues, env: CliIo['env'], command: string): string | undefined {
  const text = stringValue(values, 'thumbprint') ?? nonEmpty(env[ENV.thumbprint]);
  if (text === undefined) return undefined;
  try {
    return normalizeThumbprint(text);
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

/** The proxy from `--proxy` or HALIBUT_PROXY: `none`/`direct` mean no proxy; `env` follows HTTPS_PROXY & co. */
export function proxyOption(values: OptionValues, env: CliIo['env']): ProxyOption {
  const text = stringValue(values, 'proxy') ?? nonEmpty(env[ENV.proxy]);
  if (text === undefined || text === 'none' || text === 'direct') return false;
  return text;
}

/** `--attempts N`, for the commands that build a client with {@link connectToAgent}. */
export const attemptsOption: OptionSpecs = {
  attempts: { type: 'string' },
};

/** Help text for {@link attemptsOption}, with the command's default. */
export function attemptsHelp(fallback: number): string {
  return `  --attempts N         connection attempts before giving up (default ${fallback}; retries happen only before
                       a request reaches the agent, so nothing runs twice)`;
}

/**
 * The command line's retry settings for `attempts`: the library's rule, minus the failures a person wants to hear
 * about at once — the agent does not trust our certificate, the pin is wrong, nothing listens on the port. Waiting
 * seconds to report them helps nobody at a terminal; a brief network drop (reset, timeout) is still retried.
 */
export function cliRetry(attempts: number): RetryOptions | false {
  if (attempts === 1) return false;
  return { attempts, retryOn: (error) => !isReportedAtOnce(error) };
}

/** Failures the command line reports without retrying (see {@link cliRetry}). */
export function isReportedAtOnce(error: Error): boolean {
  return (
    error instanceof AgentRejectedClientError ||
    error instanceof CertificateMismatchError ||
    (error instanceof ConnectError && error.syscallCode === 'ECONNREFUSED')
  );
}

/** A client for one agent, built from the shared options; close `client` when done. */
export interface AgentConnection {
  client: HalibutClient;
  endpoint: Endpoint;
}

/**
 * Builds a client for `url` from {@link certificateOptions}, {@link agentOptions} and {@link attemptsOption} (or the
 * environment). The pin and our certificate are required: these commands act on the agent, so they must know it is
 * the right one and it must know us.
 */
export async function connectToAgent(url: string, values: OptionValues, env: CliIo['env'], command: string, defaults: { attempts: number }): Promise<AgentConnection> {
  const thumbprint = pinnedThumbprint(values, env, command);
  if (thumbprint === undefined) throw new UsageError("The agent's thumbprint is needed (--thumbprint or HALIBUT_THUMBPRINT); 'halibut discover <url>' shows it", command);
  return { client: await clientFromOptions(values, env, command, defaults), endpoint: { url, thumbprint } };
}

/**
 * A client built from {@link certificateOptions}, `--proxy`, `--timeout` and {@link attemptsOption} (or the
 * environment), for agents whose pins come from elsewhere (a targets file). Our certificate is required.
 */
export async function clientFromOptions(values: OptionValues, env: CliIo['env'], command: string, defaults: { attempts: number }): Promise<HalibutClient> {
  const timeoutMs = millisecondsValue(values, 'timeout', 10_000, command);
  const attemptsText = stringValue(values, 'attempts');
  const attempts = attemptsText === undefined ? defaults.attempts : Number(attemptsText);
  if (!Number.isInteger(attempts) || attempts < 1) throw new UsageError(`--attempts must be a whole number from 1 (got '${attemptsText ?? ''}')`, command);
  const certificate = await loadOurCertificate(values, env, command);
  if (certificate === undefined) throw new UsageError('Our certificate is needed: --cert FILE --key FILE, or --pfx FILE (or HALIBUT_CERT/HALIBUT_KEY, HALIBUT_PFX)', command);
  return new HalibutClient({
    certificate,
    proxy: proxyOption(values, env),
    connectTimeoutMs: timeoutMs,
    handshakeTimeoutMs: timeoutMs,
    retry: cliRetry(attempts),
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
