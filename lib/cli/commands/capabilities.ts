/** `halibut capabilities <url>`: what the agent says it can do, and which script service `run` would use. */
import { TentacleClient } from '../../index.js';
import { flag, requirePositionals, type Command } from '../command.js';
import { AGENT_HELP, agentOptions, attemptsHelp, attemptsOption, CERTIFICATE_HELP, certificateOptions, connectToAgent } from '../connection-options.js';
import { ExitCode } from '../exit-codes.js';
import { toJsonLine } from '../json-output.js';
import { terminalSafe } from '../terminal-text.js';

/** The `--json` output. */
export interface CapabilitiesReport {
  ok: true;
  capabilities: string[];
  /** True when the agent has no capabilities service and the list is what such (old) Tentacles are taken to offer. */
  fallback: boolean;
  scriptService: 'IScriptService' | 'IScriptServiceV2';
  /** A Kubernetes agent: `run` does not drive its script service. */
  kubernetes: boolean;
}

export const capabilitiesCommand: Command = {
  name: 'capabilities',
  summary: "Show an agent's capabilities and the script service run would use",
  options: { ...certificateOptions, ...agentOptions, ...attemptsOption },
  help: `Usage: halibut capabilities <url> -t THUMBPRINT (--cert FILE --key FILE | --pfx FILE)

Asks the agent what it can do (ICapabilitiesServiceV2.GetCapabilities, as Octopus does) and prints the answer on
standard output, one capability per line. A Tentacle too old to have a capabilities service is taken to offer the
V1 script service and file transfer, as Octopus assumes; the output then says these are the fallback. Which script
service 'halibut run' would use (IScriptServiceV2 when the agent lists it, else IScriptService) goes to standard
error with any notes, so that the list can be piped.

${CERTIFICATE_HELP}

${AGENT_HELP}
${attemptsHelp(1)}
  --json               print { "ok": true, "capabilities": [...], "fallback": false,
                               "scriptService": "IScriptServiceV2", "kubernetes": false }

Exit codes: 0 the agent answered, 1 it could not be asked (unreachable, does not trust us, …), 2 usage error.

Example:
  halibut capabilities https://tentacle-01:10933/ -t 36F3…403D --pfx octopus.pfx`,
  async run(input, io) {
    const [url] = requirePositionals(input, ['<url>'], 'capabilities');
    const { client, endpoint } = await connectToAgent(url!, input.values, io.env, 'capabilities', { attempts: 1 });
    try {
      const found = await new TentacleClient(client).capabilities(endpoint, { signal: io.interrupted });
      if (flag(input.values, 'json')) {
        const report: CapabilitiesReport = { ok: true, capabilities: [...found.supported], fallback: found.fallback, scriptService: found.scriptService, kubernetes: found.kubernetes };
        io.out(toJsonLine(report));
        return ExitCode.ok;
      }
      for (const capability of found.supported) io.out(`${terminalSafe(capability)}\n`);
      if (found.fallback) io.err('note: the agent has no capabilities service (an old Tentacle): the list above is the fallback Octopus assumes for such agents\n');
      if (found.kubernetes) io.err('note: this is a Kubernetes agent: halibut run does not drive its script service\n');
      else io.err(`halibut run would use ${found.scriptService}\n`);
      return ExitCode.ok;
    } finally {
      await client.close();
    }
  },
};
