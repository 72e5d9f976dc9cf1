/**
 * `halibut agent`: the embeddable listening agent as a process, for trying the client (or this tool) without a
 * Tentacle. It serves Tentacle's script, file transfer and capabilities services and a small echo service, and runs
 * until Ctrl-C.
 */
import { isAbsolute, resolve } from 'node:path';
import { generateCertificate, normalizeThumbprint } from '../../index.js';
import { startTentacleAgent, type ServiceImplementation } from '../../testing/index.js';
import { flag, stringList, stringValue, type Command } from '../command.js';
import { AGENT_ENV, certificateOptions, loadOurCertificate } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { toJsonLine } from '../json-output.js';
import { terminalSafe } from '../terminal-text.js';
import { addAbortListener } from '../../util/abort.js';

/** Served besides Tentacle's services: the simplest call there is, for checking connectivity and trust. */
const EXTRA_SERVICES: Record<string, ServiceImplementation> = {
  IEchoService: {
    SayHello: (name: unknown) => `Hello, ${String(name)}!`,
    Echo: (value: unknown) => value,
  },
};

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run a listening agent that serves scripts and files, to try things out (until Ctrl-C)',
  options: {
    ...certificateOptions,
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    trust: { type: 'string', multiple: true },
    home: { type: 'string' },
    'file-root': { type: 'string' },
  },
  help: `Usage: halibut agent [--trust THUMBPRINT]... [--host H] [--port P] [--home DIR] [--cert FILE --key FILE | --pfx FILE]

Starts the library's embeddable listening agent and prints its URL and thumbprint. It behaves like a Tentacle on
the wire (friendly page, silent close for untrusted clients, Halibut's error answers) and serves Tentacle's
services, answering as a current Tentacle does: IScriptService and IScriptServiceV2 (scripts run with this
machine's bash or PowerShell, as this user), IFileTransferService (confined to the home) and
ICapabilitiesServiceV2, so that 'halibut run', 'upload', 'download' and 'capabilities' work against it; also
IEchoService.SayHello(name) and IEchoService.Echo(value).
It runs until Ctrl-C (or SIGTERM), then stops running scripts, cleans up and exits with 0. Requests and rejected
clients are logged to standard error.

WARNING: it runs ANY script a trusted client sends, as the user who started it. Trust only your own client
certificate, and keep it on loopback (the default) unless you mean otherwise.

  --trust T            a client thumbprint to trust (repeatable); without any, every client is turned away
  --host H             address to listen on (default 127.0.0.1)
  -p, --port P         port (default 10933, as a Tentacle; 0 picks a free one)
  --home DIR           the agent's home ($TentacleHome for scripts): relative upload and download paths are
                       resolved against it and transfers are confined to it (default: a new temporary
                       directory, removed when the agent stops); --file-root DIR is another name for it
  --json               print { url, thumbprint, trusted, services, home, fileRoot } as one line once listening

The agent's own certificate (clients pin its thumbprint); without one a new one is generated for this run.
It has variables of its own: the client's HALIBUT_CERT, HALIBUT_KEY, HALIBUT_PFX… are never read here.
  --cert FILE          certificate, PEM or DER               (env HALIBUT_AGENT_CERT)
  --key FILE           its private key; passphrase from env HALIBUT_AGENT_KEY_PASSPHRASE
                                                             (env HALIBUT_AGENT_KEY)
  --pfx FILE           or a PFX/PKCS#12 file; password from env HALIBUT_AGENT_PFX_PASSWORD
                                                             (env HALIBUT_AGENT_PFX)

Exit codes: 0 stopped by Ctrl-C, 1 could not start (e.g. port in use), 2 usage error.

Example:
  halibut agent --port 0 --trust $(halibut cert show client.crt --json | jq -r .thumbprint)`,
  async run(input, io) {
    if (input.positionals.length > 0) throw new UsageError(`Unexpected argument '${input.positionals[0]!}'`, 'agent');
    const portText = stringValue(input.values, 'port') ?? '10933';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0 to 65535 (got '${portText}')`, 'agent');
    const host = stringValue(input.values, 'host') ?? '127.0.0.1';
    const trusted = stringList(input.values, 'trust').map((t) => {
      try {
        return normalizeThumbprint(t);
      } catch (err) {
        throw new UsageError((err as Error).message, 'agent');
      }
    });
    const homeOption = stringValue(input.values, 'home') === undefined ? 'file-root' : 'home';
    const homeText = stringValue(input.values, homeOption);
    if (homeText !== undefined && homeText.trim() === '') throw new UsageError(`--${homeOption} needs a directory`, 'agent');
    const home = homeText === undefined ? undefined : isAbsolute(homeText) ? homeText : resolve(homeText);
    const certificate = (await loadOurCertificate(input.values, io.env, 'agent', AGENT_ENV)) ?? (await generateCertificate({ commonName: 'halibut-agent' }));

    const started = await startTentacleAgent({
      certificate,
      trustedThumbprints: trusted,
      host,
      port,
      services: EXTRA_SERVICES,
      ...(home === undefined ? {} : { home }),
    });
    const { agent, tentacle } = started;
    agent.on('request', (request, client) => io.err(`request ${terminalSafe(`${request.service}.${request.method}`)} from ${client}\n`));
    agent.on('rejected', (reason, client) =>
      io.err(
        reason === 'untrusted' && client !== undefined
          ? `rejected a client that is not trusted: ${client} (restart with --trust ${client} to let it in)\n`
          : `rejected a client that presented no certificate\n`,
      ),
    );
    const all: Record<string, ServiceImplementation> = { ...tentacle.services, ...EXTRA_SERVICES };
    const services = Object.entries(all).map(([name, impl]) => `${name} (${Object.keys(impl).join(', ')})`);
    if (flag(input.values, 'json')) {
      io.out(toJsonLine({ url: started.url, thumbprint: started.thumbprint, trusted, services: Object.keys(all), home: tentacle.home, fileRoot: tentacle.home }));
    } else {
      io.out(`Listening on ${started.url}\n`);
      io.out(`thumbprint   ${started.thumbprint}\n`);
      io.out(`trusting     ${trusted.length === 0 ? 'nobody (add --trust THUMBPRINT)' : trusted.join(', ')}\n`);
      io.out(`services     ${services.join('; ')}\n`);
      io.out(`home         ${tentacle.home}${home === undefined ? ' (temporary, removed on exit)' : ''}\n`);
      io.out('Press Ctrl-C to stop.\n');
    }
    // Standard error, so that it shows with --json too, and in every log that captures the agent's output.
    io.err(
      `WARNING: this agent runs ANY script a trusted client sends, as ${userName(io.env)} on this machine` +
        `${trusted.length === 0 ? '' : ` (trusted: ${trusted.join(', ')})`}.\n` +
        (isLoopback(host) ? '' : `WARNING: it listens on ${host}, not only on loopback: anyone who can reach it and holds a trusted key can run commands here.\n`),
    );

    await new Promise<void>((resolve) => {
      addAbortListener(io.interrupted, resolve);
    });
    await started.close();
    io.err('agent stopped\n');
    return ExitCode.ok;
  },
};

function userName(env: CliIo['env']): string {
  const name = env['USER'] ?? env['USERNAME'] ?? env['LOGNAME'];
  return name === undefined || name === '' ? 'the user who started it' : `user '${name}'`;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
