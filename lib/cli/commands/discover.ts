/** `halibut discover <url>`: the agent's thumbprint, as Octopus shows it when registering a Tentacle. */
import { discoverAgent } from '../../index.js';
import { millisecondsValue, requirePositionals, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, proxyOption } from '../connection-options.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine } from '../json-output.js';
import { describePresented } from '../presented.js';
import { terminalSafe } from '../terminal-text.js';

export const discoverCommand: Command = {
  name: 'discover',
  summary: "Print the thumbprint of the certificate an agent presents",
  options: { proxy: agentOptions['proxy']!, timeout: agentOptions['timeout']! },
  help: `Usage: halibut discover <url> [--proxy URL] [--timeout MS] [--json]

Connects to the agent without a client certificate, as Octopus does when you register a Tentacle, and prints the
SHA-1 thumbprint of the certificate it presents. Nothing is verified: compare the thumbprint with the one the
Tentacle shows (Tentacle show-thumbprint) before you pin it.

Prints only the thumbprint on standard output, so that  T=$(halibut discover https://host:10933)  works.

${AGENT_HELP.replace(/\n\s+-t, --thumbprint[^\n]*\n/, '\n')}
  --json               print { url, thumbprint, thumbprintSha256, subject, notBefore, notAfter, tlsVersion }

Exit codes: 0 found, 1 could not connect or complete TLS, 2 usage error.`,
  async run(input, io) {
    const [url] = requirePositionals(input, ['<url>'], 'discover');
    const timeoutMs = millisecondsValue(input.values, 'timeout', 10_000, 'discover');
    const found = await discoverAgent(url!, {
      proxy: proxyOption(input.values, io.env),
      connectTimeoutMs: timeoutMs,
      handshakeTimeoutMs: timeoutMs,
      readPage: false,
      signal: io.interrupted,
    });
    if (input.values['json'] === true) {
      io.out(toJsonLine({ url: found.url, ...describePresented(found.certificate), tlsVersion: found.tlsVersion }));
    } else {
      io.out(`${found.certificate.thumbprint}\n`);
      io.err(`${terminalSafe(found.certificate.subject)}, valid until ${found.certificate.notAfter.toISOString()} (not verified: compare with Tentacle show-thumbprint)\n`);
    }
    return ExitCode.ok;
  },
};
