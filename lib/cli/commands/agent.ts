/**
 * `halibut agent`: the embeddable listening agent as a process, for trying the client (or this tool) without a
 * Tentacle. It serves a small echo service and runs until Ctrl-C.
 */
import { generateCertificate, normalizeThumbprint } from '../../index.js';
import { ListeningAgent, type ServiceImplementation } from '../../testing/index.js';
import { flag, stringList, stringValue, type Command } from '../command.js';
import { CERTIFICATE_HELP, certificateOptions, loadOurCertificate } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine } from '../json-output.js';

/** What the agent serves. Small on purpose: it is for checking connectivity and trust, not for running things. */
const SERVICES: Record<string, ServiceImplementation> = {
  IEchoService: {
    SayHello: (name: unknown) => `Hello, ${String(name)}!`,
    Echo: (value: unknown) => value,
  },
};

export const agentCommand: Command = {
  name: 'agent',
  summary: 'Run a listening agent to try things out (until Ctrl-C)',
  options: {
    ...certificateOptions,
    host: { type: 'string' },
    port: { type: 'string', short: 'p' },
    trust: { type: 'string', multiple: true },
  },
  help: `Usage: halibut agent [--trust THUMBPRINT]... [--host H] [--port P] [--cert FILE --key FILE | --pfx FILE]

Starts the library's embeddable listening agent and prints its URL and thumbprint. It behaves like a Tentacle on
the wire (friendly page, silent close for untrusted clients, Halibut's error answers) and serves
IEchoService.SayHello(name) and IEchoService.Echo(value). It runs until Ctrl-C (or SIGTERM), then stops cleanly
and exits with 0. Requests and rejected clients are logged to standard error.

It runs what trusted clients ask: keep it on loopback (the default) unless you mean otherwise.

  --trust T            a client thumbprint to trust (repeatable); without any, every client is turned away
  --host H             address to listen on (default 127.0.0.1)
  -p, --port P         port (default 10933, as a Tentacle; 0 picks a free one)
  The agent's certificate: --cert/--key or --pfx as below; without them a new one is generated for this run.
  --json               print { url, thumbprint, trusted, services } as one line once listening

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
    const certificate = (await loadOurCertificate(input.values, io.env, 'agent')) ?? (await generateCertificate({ commonName: 'halibut-agent' }));

    const agent = new ListeningAgent({ certificate, trustedThumbprints: trusted, services: SERVICES });
    agent.on('request', (request, client) => io.err(`request ${request.service}.${request.method} from ${client}\n`));
    agent.on('rejected', (reason, client) =>
      io.err(
        reason === 'untrusted' && client !== undefined
          ? `rejected a client that is not trusted: ${client} (restart with --trust ${client} to let it in)\n`
          : `rejected a client that presented no certificate\n`,
      ),
    );
    const address = await agent.listen({ host, port });
    const services = Object.entries(SERVICES).map(([name, impl]) => `${name} (${Object.keys(impl).join(', ')})`);
    if (flag(input.values, 'json')) {
      io.out(toJsonLine({ url: address.url, thumbprint: address.thumbprint, trusted, services: Object.keys(SERVICES) }));
    } else {
      io.out(`Listening on ${address.url}\n`);
      io.out(`thumbprint   ${address.thumbprint}\n`);
      io.out(`trusting     ${trusted.length === 0 ? 'nobody (add --trust THUMBPRINT)' : trusted.join(', ')}\n`);
      io.out(`services     ${services.join('; ')}\n`);
      io.out('Press Ctrl-C to stop.\n');
    }

    await new Promise<void>((resolve) => {
      if (io.interrupted.aborted) resolve();
      else io.interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
    await agent.close();
    io.err('agent stopped\n');
    return ExitCode.ok;
  },
};
