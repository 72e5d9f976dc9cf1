/**
 * `halibut health --targets FILE`: the library's health check on every agent of a fleet, a bounded number at a
 * time, reported as one table (or one JSON document) in the file's order.
 */
import { TentacleClient, type HealthCheckReport } from '../../index.js';
import { flag, millisecondsValue, type Command } from '../command.js';
import { mapBounded } from '../bounded-map.js';
import { agentOptions, CERTIFICATE_HELP, certificateOptions, clientFromOptions } from '../connection-options.js';
import { UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { fleetHelp, fleetOptions, readFleetInput } from '../fleet-options.js';
import { healthDocument, healthSummary, healthTable, targetHealth } from '../health-report.js';
import { toJsonPretty } from '../json-output.js';

export const healthCommand: Command = {
  name: 'health',
  summary: 'Health-check every agent listed in a targets file, as a table',
  options: { ...certificateOptions, ...agentOptions, ...fleetOptions },
  help: `Usage: halibut health --targets FILE (--cert FILE --key FILE | --pfx FILE) [options]

Checks every agent listed in FILE the way 'halibut probe' does with a pin (one connection each: TCP, TLS, the
pinned certificate, identification, whether it trusts us, its capabilities), at most --concurrency at a time, and
prints one row per agent in the file's order: its name, URL, ok or failed, TLS version, how long the check took,
when its certificate expires, and for a failure the step and a one-line explanation ('halibut probe <url>' tells
more about one agent). Nothing runs on the agents. A line at the end, on standard error, counts them.

FILE has one agent per line, name, URL and thumbprint separated by spaces or tabs:
  web-01   https://web-01:10933/   36F35047CE8B000CF4C671819A2DD1AFCDE3403D
  # a comment; blank lines are ignored too
  db-01    https://10.0.4.17:10933/ 8E1C3A2F5B7D9E0A4C6B8D1F3E5A7C9B2D4F6A8E  # rack 4
The whole file is checked before any agent is contacted: a bad line (not three fields, a URL that is not
https://host:port/, a thumbprint that is not 40 hexadecimal digits, a name used twice) stops the command with
exit code 2, naming the line.

Ctrl-C stops every check in flight (their rows say ERR_ABORTED), starts no more (their rows say 'not checked'),
prints what it has and exits with 130.

${fleetHelp('health checks')}

${CERTIFICATE_HELP}

Reaching the agents:
  --proxy URL          http://[user:pass@]host:port, socks5://host:port, 'env' to follow
                       HTTPS_PROXY/NO_PROXY, or 'none' (default)          (env HALIBUT_PROXY)
  --timeout MS         the longest one agent's check may take (default 10000)
  --json               print one JSON document: { "ok", "total", "healthy", "failed", "skipped",
                         "targets": [ { "name", "url", "status": "ok" | "failed" | "skipped", "tls",
                         "latencyMs", "certificate", "pinMatched", "halibut", "trusted",
                         "capabilities", "failure": { "step", "code", "message", "explanation" } } ] }

Exit codes: 0 every agent is healthy, 1 at least one is not, 2 usage error or a bad targets file (nothing was
contacted), 130 interrupted (Ctrl-C).

Examples:
  halibut health --targets fleet.txt --pfx octopus.pfx
  halibut health --targets fleet.txt --concurrency 256 --json | jq -r '.targets[] | select(.status != "ok") | .name'`,
  async run(input, io) {
    if (input.positionals.length > 0) throw new UsageError(`Unexpected argument '${input.positionals[0]!}' (the agents are listed in --targets FILE)`, 'health');
    const { targets, concurrency } = await readFleetInput(input.values, 'health');
    const timeoutMs = millisecondsValue(input.values, 'timeout', 10_000, 'health');
    const client = await clientFromOptions(input.values, io.env, 'health', { attempts: 1 });
    let reports: Array<HealthCheckReport | undefined>;
    try {
      const tentacle = new TentacleClient(client);
      const signal = io.interrupted;
      reports = await mapBounded(targets, concurrency, signal, (t) => tentacle.healthCheck({ url: t.url, thumbprint: t.thumbprint }, { timeoutMs, signal }));
    } finally {
      await client.close();
    }
    const rows = targets.map((target, i) => targetHealth(target, reports[i]));
    const document = healthDocument(rows);
    const interrupted = io.interrupted.aborted;
    if (flag(input.values, 'json')) {
      io.out(toJsonPretty(document));
    } else {
      io.out(healthTable(rows));
      io.err(healthSummary(document, interrupted));
    }
    if (interrupted) return ExitCode.interrupted;
    return document.ok ? ExitCode.ok : ExitCode.failed;
  },
};
