// The `halibut` commands that drive Tentacle's services — capabilities, run, upload, download — each run as a real
// process against the embedded Tentacle agent over real TLS, and `halibut agent` serving them.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { shellExitCode } from '../lib/cli/commands/run.js';
import { progressReporter } from '../lib/cli/progress.js';
import type { StartedTentacleAgent, TentacleAgentOptions } from '../lib/testing/index.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { clientEnv, halibut, linesUntil, startHalibut, tempDir, writeIdentity } from './support/cli.js';
import { identities, type TestIdentities } from './support/identities.js';
import { startTestTentacle } from './support/tentacle-agent.js';

closeEverythingAfterwards();

let ids: TestIdentities;
let dir: string;
/** Our identity and the agent's pin, given the way CI jobs give them: through the environment. */
let env: Record<string, string>;
before(async () => {
  ids = await identities();
  dir = tempDir();
  env = clientEnv(dir, ids.client, ids.agent.thumbprint);
});

const tentacleAgent = (options: Partial<TentacleAgentOptions> = {}): Promise<StartedTentacleAgent> => startTestTentacle({ host: '127.0.0.1', port: 0, ...options });

/** Writes `text` to a new file in the spec's temporary directory. */
function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function sha1(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex');
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('new commands: --help', () => {
  it('each has a help text starting with Usage: and listing its exit codes', async () => {
    for (const name of ['capabilities', 'run', 'upload', 'download']) {
      const r = await halibut([name, '--help']);
      assert.equal(r.code, 0, name);
      assert.match(r.stdout, new RegExp(`^Usage: halibut ${name} `), name);
      assert.match(r.stdout, /\nExit codes:/, name);
    }
    const run = await halibut(['help', 'run']);
    assert.match(run.stdout, /Ctrl-C cancels the script on the agent/);
    assert.match(run.stdout, /Tentacle's own codes are negative .*\n.* exit 1;/);
    const agent = await halibut(['agent', '--help']);
    assert.match(agent.stdout, /WARNING: it runs ANY script a trusted client sends/);
    assert.match(agent.stdout, /--home DIR/);
  });
});

describe('run exit codes and transfer progress (in process)', () => {
  it('maps exit codes the way a shell can show them, never turning a failure into 0', () => {
    assert.deepEqual([0, 3, 137, 255].map(shellExitCode), [0, 3, 137, 255]);
    assert.deepEqual([-41, -44, -46, -1].map(shellExitCode), [1, 1, 1, 1]);
    assert.deepEqual([256, 512, 0xc0000005].map(shellExitCode), [255, 255, 255]);
  });

  it('draws one bar line in place on a terminal, with percent, rate and ETA', () => {
    let written = '';
    let clock = 0;
    const bar = progressReporter({ err: (t) => (written += t) }, { verb: 'uploading', done: 'uploaded', label: 'app.zip', tty: true, now: () => clock });
    for (let bytes = 0; bytes <= 4 * 1024 * 1024; bytes += 64 * 1024) {
      clock += 50;
      bar.update({ bytes, total: 4 * 1024 * 1024 });
    }
    bar.finish(4 * 1024 * 1024);
    const [drawing, summary, end] = written.split('\n');
    assert.equal(end, '');
    assert.ok(drawing!.startsWith('\r'));
    // At most one redraw per 100 ms of the (fake) clock: 65 updates 50 ms apart, plus the final one.
    const frames = drawing!.split('\r').slice(1);
    assert.ok(frames.length <= 34, String(frames.length));
    assert.match(frames[1]!, /^uploading app\.zip \[#*\.+\] +\d+% {2}\d+\.\d KiB \/ 4\.0 MiB {2}\d+\.\d KiB\/s {2}ETA \d/);
    // Each frame ends by clearing the rest of the line (ESC [ K), so a shorter frame leaves nothing behind.
    assert.ok(frames.every((f) => f.endsWith('\u001b[K')));
    assert.match(frames.at(-1)!.slice(0, -3), /^uploading app\.zip \[#{24}\] 100% {2}4\.0 MiB \/ 4\.0 MiB {2}\d+\.\d MiB\/s$/);
    assert.match(summary!, /^uploaded app\.zip: 4\.0 MiB in 3\.\d s \(1\.\d MiB\/s\)$/);
  });

  it('prints a line per tenth elsewhere, and the summary', () => {
    let written = '';
    const lines = progressReporter({ err: (t) => (written += t) }, { verb: 'downloading', done: 'downloaded', label: 'x.bin', tty: false, now: () => 0 });
    for (let bytes = 0; bytes <= 1000; bytes += 7) lines.update({ bytes, total: 1000 });
    lines.finish(1000);
    const printed = written.trimEnd().split('\n');
    assert.deepEqual(printed.slice(0, -1).map((l) => /: (\d+)% /.exec(l)?.[1]), ['10', '20', '30', '40', '50', '60', '70', '80', '90']);
    assert.equal(printed.at(-1), 'downloaded x.bin: 1000 B in 0.0 s');
  });
});

describe('halibut capabilities', () => {
  it('lists the capabilities on stdout and the script service on stderr', async () => {
    const { url } = await tentacleAgent();
    const r = await halibut(['capabilities', url], env);
    assert.equal(r.code, 0, r.stderr);
    const listed = r.stdout.split('\n').filter((l) => l !== '');
    assert.ok(listed.includes('IScriptServiceV2'), r.stdout);
    assert.ok(listed.includes('IFileTransferService'), r.stdout);
    assert.match(r.stderr, /halibut run would use IScriptServiceV2/);
    assert.doesNotMatch(r.stderr, /fallback/);

    const json = await halibut(['capabilities', url, '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; capabilities: string[]; fallback: boolean; scriptService: string; kubernetes: boolean };
    assert.deepEqual(report, { ok: true, capabilities: listed, fallback: false, scriptService: 'IScriptServiceV2', kubernetes: false });
  });

  it('says when the agent is too old to have a capabilities service', async () => {
    const { url } = await tentacleAgent({ capabilities: false, scriptServiceV2: false });
    const r = await halibut(['capabilities', url], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no capabilities service .*fallback/);
    assert.match(r.stderr, /halibut run would use IScriptService\n/);
    const json = await halibut(['capabilities', url, '--json'], env);
    const report = JSON.parse(json.stdout) as { fallback: boolean; scriptService: string; capabilities: string[] };
    assert.equal(report.fallback, true);
    assert.equal(report.scriptService, 'IScriptService');
    assert.ok(report.capabilities.includes('IScriptService'));
  });

  it('needs the pin and our certificate (exit 2)', async () => {
    const noPin = await halibut(['capabilities', 'https://127.0.0.1:1/'], { HALIBUT_CERT: env['HALIBUT_CERT']!, HALIBUT_KEY: env['HALIBUT_KEY']! });
    assert.equal(noPin.code, 2);
    assert.match(noPin.stderr, /thumbprint is needed/);
    const noCert = await halibut(['capabilities', 'https://127.0.0.1:1/', '--json'], { HALIBUT_THUMBPRINT: ids.agent.thumbprint });
    assert.equal(noCert.code, 2);
    assert.equal((JSON.parse(noCert.stdout) as { error: { code: string } }).error.code, 'ERR_CLI_USAGE');
  });
});

describe('halibut run', () => {
  it("sends the script's stdout and stderr to ours and exits with its exit code", async () => {
    const { url } = await tentacleAgent();
    const script = file('streams.sh', 'echo "to stdout"\necho "to stderr" >&2\necho "more stdout"\nexit 3\n');
    const r = await halibut(['run', url, script], env);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'to stdout\nmore stdout\n');
    assert.match(r.stderr, /^to stderr$/m);
    assert.doesNotMatch(r.stderr, /to stdout/);
    assert.doesNotMatch(r.stderr, /^(debug|verbose): |isolation mutex/m, "the agent's own lines only with --verbose");

    const verbose = await halibut(['run', url, script, '--verbose'], env);
    assert.equal(verbose.code, 3);
    assert.equal(verbose.stdout, 'to stdout\nmore stdout\n');
    assert.match(verbose.stderr, /^verbose: Acquiring isolation mutex RunningScript/m);
    assert.match(verbose.stderr, /^script \S+ \(IScriptServiceV2\) exited with 3$/m);
  });

  it('passes the arguments after -- to the script, untouched', async () => {
    const { url } = await tentacleAgent();
    const script = file('args.sh', 'for a in "$@"; do echo "[$a]"; done\n');
    const r = await halibut(['run', url, script, '--', 'one', 'two words', '--json-like', "it's"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "[one]\n[two words]\n[--json-like]\n[it's]\n");
  });

  it('puts --file files into the working directory', async () => {
    const { url } = await tentacleAgent();
    const data = file('data.txt', 'contents of the data file\n');
    const script = file('cat.sh', 'cat input/data.txt\n');
    const r = await halibut(['run', url, script, '--file', `input/data.txt=${data}`], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'contents of the data file\n');
  });

  it('runs through IScriptService on an agent without V2', async () => {
    const { url } = await tentacleAgent({ capabilities: false, scriptServiceV2: false });
    const script = file('v1.sh', 'echo "via v1"\nexit 4\n');
    const r = await halibut(['run', url, script, '--json'], env);
    assert.equal(r.code, 4, r.stderr);
    const lines = jsonLines(r.stdout);
    assert.ok(lines.some((l) => l['type'] === 'log' && l['source'] === 'stdout' && l['text'] === 'via v1'));
    assert.deepEqual({ ...lines.at(-1), ticket: undefined }, { type: 'result', ok: false, exitCode: 4, cancelled: false, ticket: undefined, service: 'IScriptService' });
  });

  it('--json prints one line per log line, then the result', async () => {
    const { url } = await tentacleAgent();
    const script = file('json.sh', 'echo first\necho second >&2\nexit 3\n');
    const r = await halibut(['run', url, script, '--json'], env);
    assert.equal(r.code, 3, r.stderr);
    const lines = jsonLines(r.stdout);
    const logs = lines.slice(0, -1);
    for (const log of logs) {
      assert.deepEqual(Object.keys(log).sort(), ['level', 'source', 'text', 'time', 'type']);
      assert.equal(log['type'], 'log');
      assert.ok(['stdout', 'stderr', 'debug'].includes(log['source'] as string));
      assert.ok(!Number.isNaN(Date.parse(log['time'] as string)), String(log['time']));
    }
    // Every line is there, Tentacle's own (debug, or marked verbose) included; the script's are the default ones.
    assert.ok(logs.some((l) => l['level'] === 'verbose' && /isolation mutex/.test(l['text'] as string)), r.stdout);
    const printed = logs.filter((l) => l['source'] !== 'debug' && l['level'] === 'default').map((l) => [l['source'], l['text']]);
    assert.deepEqual(printed, [
      ['stdout', 'first'],
      ['stderr', 'second'],
    ]);
    const result = lines.at(-1)!;
    assert.deepEqual(Object.keys(result).sort(), ['cancelled', 'exitCode', 'ok', 'service', 'ticket', 'type']);
    assert.equal(result['type'], 'result');
    assert.equal(result['ok'], false);
    assert.equal(result['exitCode'], 3);
    assert.equal(result['cancelled'], false);
    assert.equal(result['service'], 'IScriptServiceV2');
    assert.match(result['ticket'] as string, /\S/);
  });

  it('Ctrl-C cancels the script on the agent, waits for the cleanup, and exits 130', async () => {
    const { url, tentacle } = await tentacleAgent();
    const script = file('long.sh', 'echo "script is running"\nsleep 600\necho "never printed"\n');
    const run = startHalibut(['run', url, script], env);
    await linesUntil(run, (line) => line === 'script is running');
    run.child.kill('SIGINT');
    const r = await run.result;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /cancelled: the script was stopped on the agent/);
    assert.doesNotMatch(r.stdout, /never printed/);
    assert.deepEqual(readdirSync(tentacle.workRoot), [], 'the script\'s workspace is removed before the command exits');
  });

  it('a reader that closes standard output cancels the script, as SIGPIPE would, and exits 141', async () => {
    const { url, tentacle } = await tentacleAgent();
    const script = file('chatty.sh', 'echo first\nwhile true; do echo more; sleep 0.1; done\n');
    const run = startHalibut(['run', url, script], env);
    await linesUntil(run, (line) => line === 'first');
    // As `halibut run … | head -1` does once it has its line.
    run.child.stdout!.destroy();
    const r = await run.result;
    assert.equal(r.code, 141, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|Error:/);
    assert.deepEqual(readdirSync(tentacle.workRoot), [], 'the script was cancelled and its workspace removed');
  });

  it('usage errors exit 2 before anything is sent', async () => {
    const { url, tentacle } = await tentacleAgent();
    const script = file('noop.sh', 'echo hi\n');
    const isolation = await halibut(['run', url, script, '--isolation', 'some'], env);
    assert.equal(isolation.code, 2);
    assert.match(isolation.stderr, /--isolation must be full or none/);
    const fileSpec = await halibut(['run', url, script, '--file', 'no-equals-sign'], env);
    assert.equal(fileSpec.code, 2);
    assert.match(fileSpec.stderr, /--file takes NAME=LOCALPATH/);
    const missing = await halibut(['run', url], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /Missing SCRIPT_FILE/);
    const noScript = await halibut(['run', url, join(dir, 'no-such-script.sh'), '--json'], env);
    assert.equal(noScript.code, 1);
    assert.deepEqual(jsonLines(noScript.stdout).map((l) => [l['type'], l['ok'], (l['error'] as { code: string }).code]), [['error', false, 'ENOENT']]);
    assert.equal(tentacle.scriptsStarted, 0);
  });
});

describe('halibut upload and download', () => {
  it('round-trips a few MiB with the same SHA-1, with progress lines on a non-terminal', async () => {
    const { url, tentacle } = await tentacleAgent();
    const bytes = randomBytes(3 * 1024 * 1024 + 12345);
    const local = file('payload.bin', bytes);
    const expected = sha1(bytes);

    const up = await halibut(['upload', url, local, 'incoming/payload.bin'], env);
    assert.equal(up.code, 0, up.stderr);
    const [upSha1, fullPath] = up.stdout.trimEnd().split('  ');
    assert.equal(upSha1, expected);
    assert.equal(fullPath, join(tentacle.fileRoot, 'incoming', 'payload.bin'));
    assert.ok(readFileSync(fullPath).equals(bytes));
    // Plain lines (no \r bar), a handful of them, and always the summary.
    assert.ok(!up.stderr.includes('\r'));
    const progress = up.stderr.split('\n').filter((l) => /^uploading .*: \d+% /.test(l));
    assert.ok(progress.length >= 1 && progress.length <= 10, up.stderr);
    assert.match(up.stderr, /^uploaded .*payload\.bin: 3\.0 MiB in /m);

    const target = join(dir, 'downloaded.bin');
    const down = await halibut(['download', url, 'incoming/payload.bin', target], env);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(down.stdout, `${expected}  ${target}\n`);
    assert.ok(readFileSync(target).equals(bytes));
    assert.match(down.stderr, /^downloaded incoming\/payload\.bin: 3\.0 MiB in /m);

    const upJson = await halibut(['upload', url, local, 'again.bin', '--json', '--quiet'], env);
    assert.equal(upJson.code, 0, upJson.stderr);
    assert.deepEqual(JSON.parse(upJson.stdout), { ok: true, fullPath: join(tentacle.fileRoot, 'again.bin'), sha1: expected, length: bytes.length });
    assert.equal(upJson.stderr, '');
    const into = join(dir, 'into');
    mkdirSync(into);
    const downJson = await halibut(['download', url, 'again.bin', into, '--json'], env);
    assert.equal(downJson.code, 0, downJson.stderr);
    assert.deepEqual(JSON.parse(downJson.stdout), { ok: true, path: join(into, 'again.bin'), sha1: expected, length: bytes.length });
    assert.deepEqual(readdirSync(into), ['again.bin']);
  });

  it('a missing remote file is exit 1 with a clear message, and leaves no local file', async () => {
    const { url } = await tentacleAgent();
    const into = join(dir, 'missing');
    mkdirSync(into);
    const target = join(into, 'nothing.bin');
    const r = await halibut(['download', url, 'no/such/file.bin', target], env);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: The agent at \S+ has no file 'no\/such\/file\.bin'\nfix: Check the remote path/m);
    assert.ok(!existsSync(target));
    assert.deepEqual(readdirSync(into), [], 'no partial file either');

    const json = await halibut(['download', url, 'no/such/file.bin', target, '--json'], env);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { ok: boolean; error: { code: string } }).error.code, 'ERR_REMOTE_FILE_NOT_FOUND');
    assert.deepEqual(readdirSync(into), []);
  });

  it('a local file that cannot be read is exit 1 before connecting', async () => {
    const r = await halibut(['upload', 'https://127.0.0.1:1/', join(dir, 'absent.bin'), 'x.bin'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ENOENT[\s\S]*fix: Check the file path/);
  });
});

describe('halibut agent serves the Tentacle services', () => {
  it('runs scripts and stores files under --home (or its other name --file-root), with its warning', async () => {
    const root = join(dir, 'agent-files');
    mkdirSync(root);
    const agentFiles = writeIdentity(dir, 'agent', ids.agent);
    const agent = startHalibut(['agent', '--port', '0', '--cert', agentFiles.cert, '--key', agentFiles.key, '--trust', ids.client.thumbprint, '--file-root', root, '--json']);
    const started = JSON.parse(await agent.nextLine()) as { url: string; services: string[]; home: string; fileRoot: string };
    assert.equal(started.home, realpathSync(root));
    assert.equal(started.fileRoot, started.home);
    for (const service of ['IScriptService', 'IScriptServiceV2', 'IFileTransferService', 'ICapabilitiesServiceV2', 'IEchoService']) assert.ok(started.services.includes(service), service);

    const script = file('agent.sh', 'echo "ran on the agent: $1"\nif [ -e "$TentacleHome/copied.sh" ]; then echo "uploads are in the home"; fi\n');
    const run = await halibut(['run', started.url, script, '--', 'hello'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'ran on the agent: hello\n');

    const up = await halibut(['upload', started.url, script, 'copied.sh', '--quiet'], env);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(started.home, 'copied.sh'), 'utf8'), readFileSync(script, 'utf8'));
    const again = await halibut(['run', started.url, script, '--', 'again'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'ran on the agent: again\nuploads are in the home\n');

    agent.child.kill('SIGINT');
    const done = await agent.result;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /WARNING: this agent runs ANY script a trusted client sends/);
    assert.match(done.stderr, /request IScriptServiceV2\.StartScript from [0-9A-F]{40}/);
    assert.match(done.stderr, /agent stopped\n$/);
  });

  it('prints its home in its banner', async () => {
    const agent = startHalibut(['agent', '--port', '0']);
    const banner: string[] = await linesUntil(agent, (line) => line.startsWith('Press Ctrl-C'));
    assert.match(banner[0]!, /^Listening on https:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(banner.some((l) => /^services {5}.*IScriptServiceV2/.test(l)), banner.join('\n'));
    const root = banner.find((l) => l.startsWith('home         '));
    assert.ok(root !== undefined, banner.join('\n'));
    agent.child.kill('SIGTERM');
    assert.equal((await agent.result).code, 0);
  });
});
