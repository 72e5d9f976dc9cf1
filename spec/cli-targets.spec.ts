// The fleet commands, `halibut health --targets FILE` and `halibut run --targets FILE`, each run as a real process
// against several embedded Tentacle agents on loopback over real TLS: the table and JSON, exit codes, prefixed
// output, --fail-fast, a bad targets file that stops everything before any agent is contacted, and Ctrl-C.
//
// Nothing here waits for time to pass: a script that must stay running holds until it is cancelled (or gives up
// after about a minute with exit code 99, so that a broken cancellation fails its test instead of hanging it), and
// the test acts when the command's output or the agents show what it is waiting for.
import { strict as assert } from 'node:assert';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { StartedTentacleAgent } from '../lib/testing/index.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { clientEnv, halibut, startHalibut, tempDir, type RunningCli } from './support/cli.js';
import { identities, type TestIdentities } from './support/identities.js';
import { freePort } from './support/ports.js';
import { listenOnLoopback } from './support/servers.js';
import { startTestTentacle } from './support/tentacle-agent.js';

closeEverythingAfterwards();

let ids: TestIdentities;
let dir: string;
/**
 * Our identity, through the environment as CI jobs give it. HALIBUT_THUMBPRINT is set to a thumbprint no agent has:
 * with --targets each line's own pin counts, so the commands must ignore it.
 */
let env: Record<string, string>;
before(async () => {
  ids = await identities();
  dir = tempDir();
  env = clientEnv(dir, ids.client, ids.stranger.thumbprint);
});

/**
 * Every target runs this. What each does comes from its agent's environment: its name, its exit code, whether it
 * holds (says `holding` and creates the file $HOLD, then waits until it is cancelled), and a file to wait for
 * before exiting ($AFTER: another target's $HOLD, so that it ends only once that one is running).
 */
const SCRIPT = [
  'echo "on $AGENT_NAME"',
  'echo "stderr of $AGENT_NAME" >&2',
  'if [ -n "$HOLD" ]; then',
  '  echo holding; touch "$HOLD"',
  '  for (( i = 0; i < 3000; i++ )); do sleep 0.02; done',
  '  echo "gave up holding"; exit 99',
  'fi',
  'if [ -n "$AFTER" ]; then',
  '  for (( i = 0; i < 3000; i++ )); do [ -e "$AFTER" ] && break; sleep 0.02; done',
  'fi',
  'exit "${AGENT_EXIT:-0}"',
].join('\n');

interface FleetAgent {
  name: string;
  started: StartedTentacleAgent;
  /** This agent's line of a targets file. */
  line: string;
  /** TLS connections accepted so far. */
  connections(): number;
  /** Requests of `IScriptServiceV2.method` received so far. */
  requests(method: string): number;
}

/** The file a holding script creates once it runs. */
function holdMark(name: string): string {
  return join(dir, `holding-${name}`);
}

async function fleetAgent(name: string, behaviour: { exit?: number; hold?: boolean; after?: string } = {}): Promise<FleetAgent> {
  const agentEnv: Record<string, string> = { AGENT_NAME: name, AGENT_EXIT: String(behaviour.exit ?? 0) };
  if (behaviour.hold === true) agentEnv['HOLD'] = holdMark(name);
  if (behaviour.after !== undefined) agentEnv['AFTER'] = holdMark(behaviour.after);
  const started = await startTestTentacle({ env: agentEnv, tcpNoDelay: true });
  let connections = 0;
  const counts = new Map<string, number>();
  started.agent.on('connection', () => connections++);
  started.agent.on('request', (request: { service: string; method: string }) => {
    if (request.service === 'IScriptServiceV2') counts.set(request.method, (counts.get(request.method) ?? 0) + 1);
  });
  return { name, started, line: `${name} ${started.url} ${started.thumbprint}`, connections: () => connections, requests: (method) => counts.get(method) ?? 0 };
}

/** A TCP port that accepts connections and never answers, counting them; `onConnection` hears of each. */
async function silentPort(onConnection: (socket: Socket) => void = () => undefined): Promise<{ url: string; connections(): number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    onConnection(socket);
  });
  const port = await listenOnLoopback(server);
  return { url: `https://127.0.0.1:${port}/`, connections: () => connections };
}

let files = 0;
/** Writes a targets file (or a script) in the spec's temporary directory. */
function file(lines: readonly string[], name = `targets-${++files}.txt`): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function script(): string {
  return file([SCRIPT], `script-${++files}.sh`);
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Reads the command's standard output until `done` holds for the lines read so far; resolves to them. */
async function readUntil(running: RunningCli, done: (lines: readonly string[]) => boolean): Promise<string[]> {
  const lines: string[] = [];
  while (!done(lines)) lines.push(await running.nextLine());
  return lines;
}

describe('fleet commands: --help', () => {
  it('halibut --help lists health; health and run explain --targets and their exit codes', async () => {
    const main = await halibut(['--help']);
    assert.match(main.stdout, /\n {2}health +Health-check every agent listed in a targets file/);
    assert.match(main.stdout, /'run --targets FILE SCRIPT_FILE' work on every agent listed in FILE/);
    assert.match(main.stdout, /run --targets with the worst of the agents' codes/);
    const health = await halibut(['health', '--help']);
    assert.equal(health.code, 0);
    assert.match(health.stdout, /^Usage: halibut health --targets FILE/);
    assert.match(health.stdout, /--concurrency N +at most N health checks at once \(default 32\)/);
    assert.match(health.stdout, /\nExit codes: 0 every agent is healthy, 1 at least one is not, 2 usage error or a bad targets file/);
    const run = await halibut(['run', '--help']);
    assert.match(run.stdout, /\n {7}halibut run --targets FILE SCRIPT_FILE/);
    assert.match(run.stdout, /--fail-fast +the first agent that fails cancels the scripts still running/);
    assert.match(run.stdout, /The exit code is the worst \(highest\) of the agents'/);
  });
});

describe('halibut health --targets', () => {
  it('prints one row per target: healthy, wrong pin and refused, and exits 1', async () => {
    const healthy = await fleetAgent('healthy');
    const repinned = await fleetAgent('repinned');
    const refused = `https://127.0.0.1:${await freePort()}/`;
    const targets = file([
      '# name url thumbprint',
      healthy.line,
      `repinned ${repinned.started.url} ${ids.stranger.thumbprint}  # the certificate was replaced`,
      `refused ${refused} ${ids.agent.thumbprint}`,
    ]);
    const r = await halibut(['health', '--targets', targets], env);
    assert.equal(r.code, 1, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.match(header!, /^NAME +URL +STATUS +TLS +LATENCY +CERT EXPIRES +DETAIL$/);
    assert.equal(rows.length, 3, r.stdout);
    assert.match(rows[0]!, new RegExp(`^healthy +${healthy.started.url} +ok +TLSv1\\.[23] +[\\d.]+ ms +in \\d+ d$`));
    assert.match(rows[1]!, new RegExp(`^repinned +${repinned.started.url} +failed +TLSv1\\.[23] +[\\d.]+ ms +in \\d+ d +pin: \\S`));
    assert.match(rows[2]!, new RegExp(`^refused +${refused} +failed +- +[\\d.]+ ms +- +connect: \\S`));
    assert.equal(r.stderr, '3 targets: 1 healthy, 2 failed\n');
    // Each check is one connection; the agent with the wrong pin never saw us identify.
    assert.equal(healthy.connections(), 1);
    assert.equal(repinned.requests('StartScript'), 0);
  });

  it('--json prints one document with every target in file order', async () => {
    const healthy = await fleetAgent('healthy');
    const repinned = await fleetAgent('repinned');
    const refused = `https://127.0.0.1:${await freePort()}/`;
    const targets = file([healthy.line, `repinned ${repinned.started.url} ${ids.stranger.thumbprint}`, `refused ${refused} ${ids.agent.thumbprint}`]);
    const r = await halibut(['health', '--targets', targets, '--json'], env);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, '');
    const doc = JSON.parse(r.stdout) as {
      ok: boolean;
      total: number;
      healthy: number;
      failed: number;
      skipped: number;
      targets: Array<{
        name: string;
        url: string;
        status: string;
        tls: string | null;
        latencyMs: number | null;
        certificate: { thumbprint: string; daysToExpiry: number } | null;
        pinMatched: boolean | null;
        trusted: boolean | null;
        capabilities: string[] | null;
        failure: { step: string; code: string; explanation: string } | null;
      }>;
    };
    assert.deepEqual([doc.ok, doc.total, doc.healthy, doc.failed, doc.skipped], [false, 3, 1, 2, 0]);
    const [ok, pin, down] = doc.targets;
    assert.deepEqual([ok!.name, ok!.url, ok!.status, ok!.pinMatched, ok!.trusted, ok!.failure], ['healthy', healthy.started.url, 'ok', true, true, null]);
    assert.match(ok!.tls!, /^TLSv1\.[23]$/);
    assert.equal(ok!.certificate!.thumbprint, ids.agent.thumbprint);
    assert.ok(ok!.certificate!.daysToExpiry > 0);
    assert.ok(ok!.capabilities!.includes('IScriptServiceV2'));
    assert.deepEqual([pin!.status, pin!.pinMatched, pin!.failure!.step, pin!.failure!.code], ['failed', false, 'pin', 'ERR_CERTIFICATE_MISMATCH']);
    assert.equal(pin!.certificate!.thumbprint, ids.agent.thumbprint, 'the certificate the agent presented');
    assert.deepEqual([down!.status, down!.tls, down!.certificate, down!.failure!.step, down!.failure!.code], ['failed', null, null, 'connect', 'ERR_CONNECT']);
    assert.match(down!.failure!.explanation, /\S/);
  });

  it("escapes what a peer says before it reaches the terminal's table", async () => {
    // TLS with the pinned certificate, then an answer to identification that is not Halibut's: the explanation
    // quotes it, with an ESC sequence and a lone CSI (C1) that would drive a terminal printed raw.
    const impostor = createTlsServer({ cert: ids.agent.cert, key: ids.agent.key }, (socket) => {
      socket.on('error', () => undefined);
      socket.end('HTTP/1.0 200 \u001b]0;owned\u0007\u009b2J\r\n\r\n');
    });
    const port = await listenOnLoopback(impostor);
    const r = await halibut(['health', '--targets', file([`impostor https://127.0.0.1:${port}/ ${ids.agent.thumbprint}`])], env);
    assert.equal(r.code, 1, r.stderr);
    const row = r.stdout.split('\n')[1]!;
    assert.match(row, /^impostor .* failed .* identify: TLS works but the peer is not Halibut: it answered /);
    assert.ok(row.includes('\\u001b]0;owned\\u0007'), row);
    assert.ok(row.includes('\\u009b2J'), row);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.stdout, /[\u001b\u0007\u009b]/);
  });

  it('exits 0 when every agent is healthy', async () => {
    const agents = await Promise.all(['a1', 'a2', 'a3'].map((name) => fleetAgent(name)));
    const r = await halibut(['health', '--targets', file(agents.map((a) => a.line)), '--concurrency', '2'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '3 targets: 3 healthy, 0 failed\n');
    assert.equal(r.stdout.trimEnd().split('\n').filter((row) => / ok /.test(row)).length, 3, r.stdout);
  });

  it('Ctrl-C aborts the checks in flight, starts no more, prints what it has and exits 130', async () => {
    const started: RunningCli[] = [];
    // The check of this target hangs in the TLS handshake until the command is interrupted, which it is as soon as
    // the connection arrives.
    const hanging = await silentPort(() => started[0]?.child.kill('SIGINT'));
    const later = await fleetAgent('later');
    const run = startHalibut(['health', '--targets', file([`hanging ${hanging.url} ${ids.agent.thumbprint}`, later.line]), '--concurrency', '1', '--json'], env);
    started.push(run);
    const r = await run.result;
    assert.equal(r.code, 130, r.stderr);
    const doc = JSON.parse(r.stdout) as { skipped: number; targets: Array<{ name: string; status: string; failure: { code: string } | null }> };
    assert.deepEqual(
      doc.targets.map((t) => [t.name, t.status, t.failure?.code ?? null]),
      [
        ['hanging', 'failed', 'ERR_ABORTED'],
        ['later', 'skipped', null],
      ],
    );
    assert.equal(hanging.connections(), 1);
    assert.equal(later.connections(), 0, 'no check starts after Ctrl-C');
  });
});

describe('halibut run --targets', () => {
  it('prefixes every line with its target, on the stream it was written to, and exits with the worst exit code', async () => {
    const agents = [await fleetAgent('a1', { exit: 0 }), await fleetAgent('a2', { exit: 3 }), await fleetAgent('a3', { exit: 2 })];
    const r = await halibut(['run', '--targets', file(agents.map((a) => a.line)), script()], env);
    assert.equal(r.code, 3, r.stderr);
    const out = r.stdout.trimEnd().split('\n').sort();
    assert.deepEqual(out, ['[a1] on a1', '[a2] on a2', '[a3] on a3']);
    for (const name of ['a1', 'a2', 'a3']) assert.match(r.stderr, new RegExp(`^\\[${name}\\] stderr of ${name}$`, 'm'));
    assert.match(r.stderr, /^3 targets: 1 succeeded, 2 failed, 0 cancelled, 0 not started\n {2}a2 +failed +exit code 3\n {2}a3 +failed +exit code 2\n$/m);
    for (const agent of agents) assert.equal(agent.requests('StartScript'), 1, agent.name);
  });

  it('an unreachable target counts as exit code 1 and does not stop the others', async () => {
    const ok = await fleetAgent('ok');
    const gone = `https://127.0.0.1:${await freePort()}/`;
    const r = await halibut(['run', '--targets', file([`gone ${gone} ${ids.agent.thumbprint}`, ok.line]), script()], env);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '[ok] on ok\n');
    assert.match(r.stderr, /^\[gone\] error: ERR_CONNECT: /m);
    assert.match(r.stderr, /^2 targets: 1 succeeded, 1 failed, 0 cancelled, 0 not started\n {2}gone +failed +ERR_CONNECT: /m);
  });

  it('--json prints JSON lines, each with its target, and a summary last', async () => {
    const agents = [await fleetAgent('j1', { exit: 0 }), await fleetAgent('j2', { exit: 4 })];
    const r = await halibut(['run', '--targets', file(agents.map((a) => a.line)), script(), '--json'], env);
    assert.equal(r.code, 4, r.stderr);
    const lines = jsonLines(r.stdout);
    const logs = lines.filter((l) => l['type'] === 'log' && l['level'] === 'default' && l['source'] !== 'debug').map((l) => [l['target'], l['source'], l['text']]);
    assert.deepEqual(
      logs.sort(),
      [
        ['j1', 'stderr', 'stderr of j1'],
        ['j1', 'stdout', 'on j1'],
        ['j2', 'stderr', 'stderr of j2'],
        ['j2', 'stdout', 'on j2'],
      ].sort(),
    );
    const results = lines.filter((l) => l['type'] === 'result').map((l) => [l['target'], l['ok'], l['status'], l['exitCode']]);
    assert.deepEqual(results.sort(), [
      ['j1', true, 'succeeded', 0],
      ['j2', false, 'failed', 4],
    ]);
    assert.deepEqual(lines.at(-1), { type: 'summary', ok: false, exitCode: 4, succeeded: ['j1'], failed: ['j2'], cancelled: [], skipped: [] });
  });

  it('--fail-fast: the first failure cancels the running scripts on their agents and starts no more', async () => {
    const holder = await fleetAgent('holder', { hold: true });
    // It fails only once the holder's script runs, so that there is a running script to cancel.
    const failing = await fleetAgent('failing', { exit: 5, after: 'holder' });
    const never = await fleetAgent('never');
    const r = await halibut(['run', '--targets', file([holder.line, failing.line, never.line]), script(), '--concurrency', '2', '--fail-fast'], env);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /^3 targets: 0 succeeded, 1 failed, 1 cancelled, 1 not started \(stopped by --fail-fast\)\n {2}holder +cancelled +exit code -1 \(shown as 1\)\n {2}failing +failed +exit code 5\n {2}never +not started\n/m);
    assert.ok(holder.requests('CancelScript') >= 1, 'the holding script was cancelled on its agent');
    assert.deepEqual(readdirSync(holder.started.tentacle.workRoot), [], 'and cleaned up there');
    assert.equal(never.started.tentacle.scriptsStarted, 0);
    assert.doesNotMatch(r.stdout, /gave up holding/);
  });

  it('a bad targets file is exit 2, names the line, and no agent is contacted', async () => {
    const agent = await fleetAgent('first');
    const listener = await silentPort();
    const targets = file([agent.line, `second ${listener.url} ${ids.agent.thumbprint}`, `third https://127.0.0.1:1/ ${ids.agent.thumbprint.slice(2)}`]);
    const r = await halibut(['run', '--targets', targets, script()], env);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^error: ${targets.replace(/[.]/g, '\\.')}:3: the thumbprint '[0-9A-F]{38}' is not 40 hexadecimal digits`));
    assert.match(r.stderr, /\nfix: Each line of a targets file is {2}name https:\/\/host:port\/ THUMBPRINT/);

    const json = await halibut(['run', '--targets', targets, script(), '--json'], env);
    assert.equal(json.code, 2);
    const [error] = jsonLines(json.stdout);
    assert.deepEqual([error!['type'], error!['ok'], (error!['error'] as { code: string }).code], ['error', false, 'ERR_CLI_TARGETS_FILE']);

    const duplicate = file([agent.line, agent.line]);
    const health = await halibut(['health', '--targets', duplicate], env);
    assert.equal(health.code, 2);
    assert.match(health.stderr, /:2: the name 'first' is already used on line 1\n/);
    const empty = await halibut(['health', '--targets', file(['# nobody yet'])], env);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /: no targets: /);

    assert.equal(agent.connections(), 0);
    assert.equal(listener.connections(), 0);
    assert.equal(agent.started.tentacle.scriptsStarted, 0);
  });

  it('fleet options are checked before anything is sent (exit 2)', async () => {
    const agent = await fleetAgent('only');
    const targets = file([agent.line]);
    const cases: Array<[string[], RegExp]> = [
      [['run', agent.started.url, script(), '--concurrency', '4'], /--concurrency goes with --targets FILE/],
      [['run', agent.started.url, script(), '--fail-fast'], /--fail-fast goes with --targets FILE/],
      [['run', '--targets', targets, script(), '--concurrency', '0'], /--concurrency must be a whole number from 1 \(got '0'\)/],
      [['run', '--targets', targets, script(), '-t', ids.agent.thumbprint], /--thumbprint does not go with --targets/],
      [['run', '--targets', targets, agent.started.url, script()], /Unexpected argument/],
      [['health', '--targets', targets, '--concurrency', 'many'], /--concurrency must be a whole number from 1/],
      [['health'], /--targets FILE is needed/],
      [['health', agent.started.url, '--targets', targets], /Unexpected argument/],
    ];
    for (const [args, message] of cases) {
      const r = await halibut(args, env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(agent.connections(), 0);
  });

  it('Ctrl-C cancels every running script on its agent, waits for the cleanup, and exits 130', async () => {
    const agents = await Promise.all(['h1', 'h2', 'h3'].map((name) => fleetAgent(name, { hold: true })));
    const run = startHalibut(['run', '--targets', file(agents.map((a) => a.line)), script()], env);
    // Every script is running once each has said so.
    await readUntil(run, (lines) => agents.every((a) => lines.includes(`[${a.name}] holding`)));
    run.child.kill('SIGINT');
    const r = await run.result;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /cancelling the scripts on the agents/);
    assert.match(r.stderr, /^3 targets: 0 succeeded, 0 failed, 3 cancelled, 0 not started \(interrupted\)$/m);
    for (const agent of agents) {
      assert.ok(agent.requests('CancelScript') >= 1, `${agent.name}'s agent was asked to cancel`);
      assert.deepEqual(readdirSync(agent.started.tentacle.workRoot), [], `${agent.name}'s workspace is removed before the command exits`);
    }
    assert.doesNotMatch(r.stdout, /gave up holding/);
  });
});
