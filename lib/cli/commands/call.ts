/** `halibut call <url> SERVICE METHOD [JSON_PARAMS]`: one ad hoc call, the result printed as JSON. */
import { DataStream, HalibutClient } from '../../index.js';
import { flag, millisecondsValue, requirePositionals, stringValue, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, CERTIFICATE_HELP, certificateOptions, cliRetry, loadOurCertificate, pinnedThumbprint, proxyOption } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine, toJsonPretty } from '../json-output.js';
import { parseParams } from '../params.js';

export const callCommand: Command = {
  name: 'call',
  summary: 'Call any method of any service on an agent',
  options: { ...certificateOptions, ...agentOptions, attempts: { type: 'string' } },
  help: `Usage: halibut call <url> SERVICE METHOD [JSON_PARAMS] -t THUMBPRINT (--cert FILE --key FILE | --pfx FILE)

Calls SERVICE.METHOD on the agent and prints the result as JSON. SERVICE is the interface name without namespace
(IEchoService), METHOD the .NET name without the Async suffix. JSON_PARAMS is a JSON array of the arguments
(default []). Plain JSON maps as the library maps JavaScript values (docs/values.md); these tagged objects give
the .NET types JSON cannot express:
  {"$int64": "9007199254740993"}   long          {"$guid": "0f8fad5b-d9cb-469f-a165-70867728950e"}   Guid
  {"$int32": 5}                    int           {"$base64": "AAEC"}                                  byte[]
  {"$double": 1}                   double        {"$date": "2025-01-31T12:00:00Z"}                    DateTime
Objects with a "$type" key are sent as that .NET type ($type is always written first).

${CERTIFICATE_HELP}

${AGENT_HELP}
  --attempts N         connection attempts before giving up (default 1; the library's default is 5)
  --json               print { "ok": true, "result": … } or { "ok": false, "error": { code, message, hint } }

In results, 64-bit integers beyond 2^53 are printed as strings, byte arrays as {"$base64": "…"}, and data
streams as { id, length } (their content is discarded).

Exit codes: 0 the call returned, 1 it failed (including an error reported by the service), 2 usage error.

Example:
  halibut call https://tentacle-01:10933/ IEchoService SayHello '["World"]' -t 36F3…403D --pfx octopus.pfx`,
  async run(input, io) {
    const [url, service, method, paramsText] = requirePositionals(input, ['<url>', 'SERVICE', 'METHOD', 'JSON_PARAMS'], 'call', 1);
    const params = parseParams(paramsText ?? '[]');
    const thumbprint = pinnedThumbprint(input.values, io.env, 'call');
    if (thumbprint === undefined) throw new UsageError("The agent's thumbprint is needed (--thumbprint or HALIBUT_THUMBPRINT); 'halibut discover <url>' shows it", 'call');
    const timeoutMs = millisecondsValue(input.values, 'timeout', 10_000, 'call');
    const attemptsText = stringValue(input.values, 'attempts');
    const attempts = attemptsText === undefined ? 1 : Number(attemptsText);
    if (!Number.isInteger(attempts) || attempts < 1) throw new UsageError(`--attempts must be a whole number from 1 (got '${attemptsText ?? ''}')`, 'call');
    const certificate = await loadOurCertificate(input.values, io.env, 'call');
    if (certificate === undefined) throw new UsageError('Our certificate is needed: --cert FILE --key FILE, or --pfx FILE (or HALIBUT_CERT/HALIBUT_KEY, HALIBUT_PFX)', 'call');

    const client = new HalibutClient({
      certificate,
      proxy: proxyOption(input.values, io.env),
      connectTimeoutMs: timeoutMs,
      handshakeTimeoutMs: timeoutMs,
      retry: cliRetry(attempts),
      maxIdlePerEndpoint: 0,
    });
    try {
      const result = await client.call({ url: url!, thumbprint }, { service: service!, method: method!, params }, { signal: io.interrupted });
      // Unread data streams would hold the connection open; the tool shows their size and drops their content.
      await discardStreams(result);
      io.out(flag(input.values, 'json') ? toJsonLine({ ok: true, result }) : toJsonPretty(result));
      return ExitCode.ok;
    } finally {
      await client.close();
    }
  },
};

async function discardStreams(value: unknown, depth = 0): Promise<void> {
  if (depth > 64 || value === null || typeof value !== 'object') return;
  if (value instanceof DataStream) {
    await value.discard();
    return;
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) await discardStreams(item, depth + 1);
}
