// The `halibut` commands other than probe, each run as a real process against the embedded agent over real TLS.
import { strict as assert } from 'node:assert';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards } from './support/cleanup.js';
import { halibut, startHalibut, tempDir, writeIdentity } from './support/cli.js';
import { identities, type TestIdentities } from './support/identities.js';

closeEverythingAfterwards();

let ids: TestIdentities;
let dir: string;
let client: { cert: string; key: string };
let agentFiles: { cert: string; key: string };
before(async () => {
  ids = await identities();
  dir = tempDir();
  client = writeIdentity(dir, 'client', ids.client);
  agentFiles = writeIdentity(dir, 'agent', ids.agent);
});

describe('halibut (no command) and --help', () => {
  it('lists the commands and exit codes', async () => {
    const r = await halibut(['--help']);
    assert.equal(r.code, 0);
    for (const name of ['probe', 'discover', 'capabilities', 'call', 'run', 'upload', 'download', 'cert new', 'cert show', 'agent']) assert.match(r.stdout, new RegExp(`\\n  ${name} `));
    assert.match(r.stdout, /Exit codes: 0 success, 1 the operation failed, 2 usage error/);
  });

  it('every command has --help', async () => {
    for (const name of [['probe'], ['discover'], ['capabilities'], ['call'], ['run'], ['upload'], ['download'], ['cert', 'new'], ['cert', 'show'], ['agent']]) {
      const r = await halibut([...name, '--help']);
      assert.equal(r.code, 0, name.join(' '));
      assert.match(r.stdout, new RegExp(`^Usage: halibut ${name.join(' ')}`));
      assert.match(r.stdout, /Exit codes:/);
    }
    const viaHelp = await halibut(['help', 'cert', 'show']);
    assert.match(viaHelp.stdout, /^Usage: halibut cert show/);
  });

  it('unknown commands and options are usage errors (exit 2)', async () => {
    const unknown = await halibut(['frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /Unknown command 'frobnicate'/);
    const cert = await halibut(['cert']);
    assert.equal(cert.code, 2);
    assert.match(cert.stderr, /'cert' needs a subcommand: cert new, cert show/);
    const option = await halibut(['discover', 'https://127.0.0.1:1/', '--frob', '--json']);
    assert.equal(option.code, 2);
    const parsed = JSON.parse(option.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(parsed.ok, false);
    assert.equal(parsed.error.code, 'ERR_CLI_USAGE');
    assert.match(parsed.error.message, /--frob/);
  });

  it('an unknown option is one clean line, with the closest valid option when there is one', async () => {
    const typo = await halibut(['call', 'https://127.0.0.1:1/', 'S', 'M', '--thumprint', 'AB']);
    assert.equal(typo.code, 2);
    assert.equal(typo.stderr, "error: Unknown option '--thumprint'; did you mean --thumbprint?\nfix: See: halibut call --help\n");
    const swapped = await halibut(['probe', 'https://127.0.0.1:1/', '--pxf', 'a.pfx']);
    assert.equal(swapped.code, 2);
    assert.match(swapped.stderr, /^error: Unknown option '--pxf'; did you mean --pfx\?\n/);
    const nothingClose = await halibut(['agent', '--frobnicate']);
    assert.equal(nothingClose.code, 2);
    assert.equal(nothingClose.stderr, "error: Unknown option '--frobnicate'\nfix: See: halibut agent --help\n");
    const short = await halibut(['upload', '-x']);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /^error: Unknown option '-x'\n/);
    const missingValue = await halibut(['agent', '--port']);
    assert.equal(missingValue.code, 2);
    assert.equal(missingValue.stderr, "error: Option '-p, --port <value>' argument missing\nfix: See: halibut agent --help\n");
    for (const r of [typo, swapped, nothingClose, short, missingValue]) assert.ok(!r.stderr.includes('"'), r.stderr);
  });
});

describe('halibut discover', () => {
  it('prints only the thumbprint on stdout', async () => {
    const { endpoint } = await startAgent();
    const r = await halibut(['discover', endpoint.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${ids.agent.thumbprint}\n`);
    assert.match(r.stderr, /CN=test agent, valid until/);
  });

  it('--json has the certificate', async () => {
    const { endpoint } = await startAgent();
    const r = await halibut(['discover', endpoint.url, '--json']);
    assert.equal(r.code, 0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out).sort(), ['expired', 'notAfter', 'notBefore', 'subject', 'thumbprint', 'thumbprintSha256', 'tlsVersion', 'url']);
    assert.equal(out['thumbprint'], ids.agent.thumbprint);
    assert.equal(out['thumbprintSha256'], ids.agent.thumbprintSha256);
    assert.equal(out['url'], endpoint.url);
  });

  it('fails with exit 1 and a hint when nothing listens', async () => {
    const { freePort } = await import('./support/ports.js');
    const r = await halibut(['discover', `https://127.0.0.1:${await freePort()}/`]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: Could not connect .*\nfix: Nothing is listening there/);
  });
});

describe('halibut cert', () => {
  it('cert new writes a certificate and a private key readable only by the owner', async () => {
    const out = join(dir, 'new');
    const r = await halibut(['cert', 'new', '--cn', 'deploy-bot', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const made = JSON.parse(r.stdout) as { certFile: string; keyFile: string; subject: string; thumbprint: string };
    assert.equal(made.subject, 'CN=deploy-bot');
    assert.match(made.thumbprint, /^[0-9A-F]{40}$/);
    assert.equal(made.keyFile, join(out, 'halibut.key'));
    assert.equal(statSync(made.keyFile).mode & 0o777, 0o600);
    assert.ok(!r.stdout.includes('PRIVATE KEY'));

    const shown = await halibut(['cert', 'show', made.certFile, '--json']);
    assert.equal(shown.code, 0);
    assert.equal((JSON.parse(shown.stdout) as { thumbprint: string }).thumbprint, made.thumbprint);

    const again = await halibut(['cert', 'new', '--out', out]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists \(use --force/);
    const forced = await halibut(['cert', 'new', '--out', out, '--force']);
    assert.equal(forced.code, 0);
    assert.match(forced.stdout, /Trust it on a Tentacle with: {2}Tentacle configure --trust [0-9A-F]{40}\n/);
    assert.equal(statSync(made.keyFile).mode & 0o777, 0o600);
  });

  it('cert new needs --out', async () => {
    const r = await halibut(['cert', 'new']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out DIR is required/);
  });

  it('cert show reads PEM and prints thumbprint, subject and validity', async () => {
    const r = await halibut(['cert', 'show', client.cert]);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.includes(`thumbprint   ${ids.client.thumbprint}`));
    assert.match(r.stdout, /subject {6}CN=test client/);
    assert.match(r.stdout, /valid {8}\d{4}-.* to \d{4}-/);
  });

  it('cert show reads a PFX with its password, and explains a wrong one', async () => {
    const { execFileSync } = await import('node:child_process');
    const pfx = join(dir, 'client.pfx');
    execFileSync('openssl', ['pkcs12', '-export', '-in', client.cert, '-inkey', client.key, '-out', pfx, '-passout', 'pass:s3cret']);
    const r = await halibut(['cert', 'show', pfx, '--json'], { HALIBUT_PFX_PASSWORD: 's3cret' });
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout) as { kind: string; thumbprint: string };
    assert.equal(shown.kind, 'pfx');
    assert.equal(shown.thumbprint, ids.client.thumbprint);
    const wrong = await halibut(['cert', 'show', pfx, '--password', 'nope']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /fix: Set the password in HALIBUT_PFX_PASSWORD/);
    assert.ok(!wrong.stderr.includes('nope'));
    const missing = await halibut(['cert', 'show', join(dir, 'missing.crt')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ENOENT[\s\S]*fix: Check the file path/);
  });
});

describe('halibut call', () => {
  it('calls a method and prints the result as JSON', async () => {
    const { endpoint } = await startAgent({ services: { IEchoService: { SayHello: (name: string) => `Hello, ${name}!`, Add: (a: bigint | number, b: bigint | number) => BigInt(a) + BigInt(b) } } });
    const r = await halibut(['call', endpoint.url, 'IEchoService', 'SayHello', '["World"]', '-t', ids.agent.thumbprint, '--cert', client.cert, '--key', client.key]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '"Hello, World!"\n');
    const big = await halibut(
      ['call', endpoint.url, 'IEchoService', 'Add', '[{"$int64": "9007199254740993"}, 1]', '--json'],
      { HALIBUT_CERT: client.cert, HALIBUT_KEY: client.key, HALIBUT_THUMBPRINT: ids.agent.thumbprint },
    );
    assert.equal(big.code, 0, big.stderr);
    assert.deepEqual(JSON.parse(big.stdout), { ok: true, result: '9007199254740994' });
  });

  it('an error from the service exits 1 with its code', async () => {
    const { endpoint } = await startAgent();
    const r = await halibut(['call', endpoint.url, 'INoSuchService', 'Run', '-t', ids.agent.thumbprint, '--cert', client.cert, '--key', client.key, '--json']);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; hint: string } };
    assert.equal(out.ok, false);
    assert.equal(out.error.code, 'ERR_SERVICE_NOT_FOUND');
    assert.match(out.error.hint, /no service by that name/);
  });

  it('needs a pin, a certificate and a JSON array', async () => {
    const url = 'https://127.0.0.1:1/';
    const noPin = await halibut(['call', url, 'S', 'M', '--cert', client.cert, '--key', client.key]);
    assert.equal(noPin.code, 2);
    assert.match(noPin.stderr, /thumbprint is needed .*halibut discover/);
    const noCert = await halibut(['call', url, 'S', 'M', '-t', ids.agent.thumbprint]);
    assert.equal(noCert.code, 2);
    assert.match(noCert.stderr, /Our certificate is needed/);
    const notArray = await halibut(['call', url, 'S', 'M', '{"a":1}', '-t', ids.agent.thumbprint, '--cert', client.cert, '--key', client.key]);
    assert.equal(notArray.code, 2);
    assert.match(notArray.stderr, /must be a JSON array/);
  });
});

describe('halibut agent', () => {
  it('listens, prints its URL and thumbprint, serves trusted clients, and stops on Ctrl-C', async () => {
    const agent = startHalibut(['agent', '--port', '0', '--cert', agentFiles.cert, '--key', agentFiles.key, '--trust', ids.client.thumbprint, '--json']);
    const started = JSON.parse(await agent.nextLine()) as { url: string; thumbprint: string; trusted: string[]; services: string[]; fileRoot: string };
    assert.match(started.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(started.thumbprint, ids.agent.thumbprint);
    assert.deepEqual(started.trusted, [ids.client.thumbprint]);
    assert.ok(started.services.includes('IEchoService'), started.services.join(', '));
    assert.ok(started.services.includes('IScriptServiceV2'), started.services.join(', '));

    const call = await halibut(['call', started.url, 'IEchoService', 'SayHello', '["agent"]', '-t', started.thumbprint, '--cert', client.cert, '--key', client.key]);
    assert.equal(call.code, 0, call.stderr);
    assert.equal(call.stdout, '"Hello, agent!"\n');
    const probe = await halibut(['probe', started.url, '--cert', agentFiles.cert, '--key', agentFiles.key]);
    assert.equal(probe.code, 1, 'the agent does not trust its own certificate as a client');

    agent.child.kill('SIGINT');
    const done = await agent.result;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /request IEchoService\.SayHello from [0-9A-F]{40}/);
    assert.ok(done.stderr.includes(`rejected a client that is not trusted: ${ids.agent.thumbprint} (restart with --trust ${ids.agent.thumbprint}`));
    assert.match(done.stderr, /agent stopped\n$/);
  });

  it('prints a human banner and generates a certificate when given none', async () => {
    const agent = startHalibut(['agent', '--port', '0']);
    assert.match(await agent.nextLine(), /^Listening on https:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(await agent.nextLine(), /^thumbprint {3}[0-9A-F]{40}$/);
    assert.match(await agent.nextLine(), /^trusting {5}nobody \(add --trust THUMBPRINT\)$/);
    agent.child.kill('SIGTERM');
    assert.equal((await agent.result).code, 0);
  });

  it("reads its own identity (HALIBUT_AGENT_*), never the client's HALIBUT_CERT/KEY/PFX", async () => {
    const clientEnv = { HALIBUT_CERT: client.cert, HALIBUT_KEY: client.key };
    const fresh = startHalibut(['agent', '--port', '0', '--json'], clientEnv);
    const generated = JSON.parse(await fresh.nextLine()) as { thumbprint: string };
    assert.notEqual(generated.thumbprint, ids.client.thumbprint, "the agent must not present the client's certificate");
    const own = startHalibut(['agent', '--port', '0', '--json'], { ...clientEnv, HALIBUT_AGENT_CERT: agentFiles.cert, HALIBUT_AGENT_KEY: agentFiles.key });
    const configured = JSON.parse(await own.nextLine()) as { url: string; thumbprint: string };
    assert.equal(configured.thumbprint, ids.agent.thumbprint);
    // What it presents on the wire, not only what it prints.
    const presented = await halibut(['discover', configured.url]);
    assert.equal(presented.stdout, `${ids.agent.thumbprint}\n`);
    fresh.child.kill('SIGTERM');
    own.child.kill('SIGTERM');
    assert.equal((await fresh.result).code, 0);
    assert.equal((await own.result).code, 0);
    const help = await halibut(['agent', '--help']);
    assert.match(help.stdout, /The agent's own certificate \(clients pin its thumbprint\)/);
    assert.match(help.stdout, /HALIBUT_AGENT_PFX_PASSWORD/);
    const clientHelp = await halibut(['call', '--help']);
    assert.match(clientHelp.stdout, /Our certificate, the client's identity \(the agent must trust its thumbprint\)/);
  });

  it('a bad port is a usage error', async () => {
    const r = await halibut(['agent', '--port', 'x']);
    assert.equal(r.code, 2);
  });
});
