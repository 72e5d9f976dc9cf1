/**
 * `halibut agent`: the embeddable listening agent as a process, for trying the client (or this tool) without a
 * Tentacle. It serves Tentacle's script, file transfer and capabilities services and a small echo service, and runs
 * until Ctrl-C.
 */
import { isAbsolute, resolve } from 'node:path';
import { generateCertificate, normalizeThumbprint } from '../../index.js';
import { startTentacleAgent, type ServiceImplementation } from '../../testing/index.js';
import { flag, stringList, stringValue, type Command } from '../command.js';
import { CERTIFICATE_HELP, certificateOptions, loadOurCertificate } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { toJsonLine } from '../json-output.js';
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
    'file-root': { type: 'string' },
  },
  help: `Usage: halibut agent [--trust THUMBPRINT]... [--host H] [--port P] [--file-root DIR] [--cert FILE --key FILE | --pfx FILE]

Starts the library's embeddable listening agent and prints its URL and thumbprint. It behaves like a Tentacle on
the wire (friendly page, silent close for untrusted clients, Halibut's error answers) and serves Tentacle's
services: IScriptService and IScriptServiceV2 (scripts run with this machine's bash or PowerShell, as this user),
IFileTransferService (confined to the file root) and ICapabilitiesServiceV2, so that 'halibut run', 'upload',
'download' and 'capabilities' work against it; also IEchoService.SayHello(name) and IEchoService.Echo(value).
It runs until Ctrl-C (or SIGTERM), then stops running scripts, cleans up and exits with 0. Requests and rejected
clients are logged to standard error.

WARNING: it runs ANY script a trusted client sends, as the user who started it. Trust only your own client
certificate, and keep it on loopback (the default) unless you mean otherwise.

  --trust T            a client thumbprint to trust (repeatable); without any, every client is turned away
  --host H             address to listen on (default 127.0.0.1)
  -p, --port P         port (default 10933, as a Tentacle; 0 picks a free one)
  --file-root DIR      the directory uploads and downloads are confined to; relative paths are resolved
                       against it (default: a new temporary directory, removed when the agent stops)
  The agent's certificate: --cert/--key or --pfx as below; without them a new one is generated for this run.
  --json               print { url, thumbprint, trusted, services, fileRoot } as one line once listening

${CERTIFICATE_HELP}

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
    const fileRootText = stringValue(input.values, 'file-root');
    if (fileRootText !== undefined && fileRootText.trim() === '') throw new UsageError('--file-root needs a directory', 'agent');
    const fileRoot = fileRootText === undefined ? undefined : isAbsolute(fileRootText) ? fileRootText : resolve(fileRootText);
    const certificate = (await loadOurCertificate(input.values, io.env, 'agent')) ?? (await generateCertificate({ commonName: 'halibut-agent' }));

    const started = await startTentacleAgent({
      certificate,
      trustedThumbprints: trusted,
      host,
      port,
      services: EXTRA_SERVICES,
      ...(fileRoot === undefined ? {} : { fileRoot }),
    });
    const { agent, tentacle } = started;
    agent.on('request', (request, client) => io.err(`request ${request.service}.${request.method} from ${client}\n`));
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
      io.out(toJsonLine({ url: started.url, thumbprint: started.thumbprint, trusted, services: Object.keys(all), fileRoot: tentacle.fileRoot }));
    } else {
      io.out(`Listening on ${started.url}\n`);
      io.out(`thumbprint   ${started.thumbprint}\n`);
      io.out(`trusting     ${trusted.length === 0 ? 'nobody (add --trust THUMBPRINT)' : trusted.join(', ')}\n`);
      io.out(`services     ${services.join('; ')}\n`);
      io.out(`file root    ${tentacle.fileRoot}${fileRoot === undefined ? ' (temporary, removed on exit)' : ''}\n`);
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
