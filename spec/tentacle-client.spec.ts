// The high-level Tentacle operations against the embedded agent's Tentacle services, over real TLS, with real
// bash processes: scripts and their output, cancellation, the V1 fallback, retries that must not run a script
// twice, capabilities, and file transfer with verified hashes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ClientClosedError,
  ConnectError,
  HalibutClient,
  RemoteFileNotFoundError,
  ScriptStartUncertainError,
  ScriptTimeoutError,
  ServiceInvocationError,
  TentacleClient,
  UnsupportedScriptServiceError,
  UploadVerificationError,
  encodeUploadResult,
  type DataStream,
  type LogLine,
  type ScriptRun,
  type TentacleClientOptions,
  type TransferProgress,
} from '../lib/index.js';
import { POLL_DEFAULTS, pollDelay } from '../lib/tentacle/polling.js';
import { ListeningAgent, createTentacleServices, startTentacleAgent, type StartedTentacleAgent } from '../lib/testing/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { Forwarder } from './support/forwarder.js';
import { identities } from './support/identities.js';
import { payload } from './support/payload.js';
import { startTestTentacle, testTentacleClients } from './support/tentacle-agent.js';

closeEverythingAfterwards();
const ids = await identities();

/** Fast polling so that tests spend their time in the scripts, not in back-off. */
const FAST: TentacleClientOptions = { poll: { minDelayMs: 10, maxDelayMs: 50 }, startWaitMs: 1000 };

const tentacle = startTestTentacle;
const clients = (options: TentacleClientOptions = FAST): { halibut: HalibutClient; tentacle: TentacleClient } => testTentacleClients(ids, options);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tentacle-client-spec-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function collect(run: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of run) lines.push(line);
  return lines;
}

const output = (lines: readonly LogLine[]): Array<[string, string]> => lines.filter((l) => l.source !== 'debug').map((l) => [l.source, l.text]);

/** Counts the agent's decoded requests by service and method. */
function countRequests(agent: StartedTentacleAgent): (service: string, method: string) => number {
  const counts = new Map<string, number>();
  agent.agent.on('request', (r) => counts.set(`${r.service}.${r.method}`, (counts.get(`${r.service}.${r.method}`) ?? 0) + 1));
  return (service, method) => counts.get(`${service}.${method}`) ?? 0;
}

/** True once a process is gone (or only a zombie waiting for a parent that does not reap it). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

describe('runScript', () => {
  it('streams stdout and stderr in order with their sources, and reports the exit code', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const run = client.runScript(agent.endpoint, { body: 'echo one\necho two >&2\necho three\nexit 3' });
    const lines = await collect(run);
    const result = await run;
    // stdout and stderr are separate pipes, so only the order within each is defined (as on a real Tentacle).
    const script = output(lines).filter(([, text]) => !text.startsWith('Acquiring'));
    assert.deepEqual(script.filter(([source]) => source === 'stdout'), [
      ['stdout', 'one'],
      ['stdout', 'three'],
    ]);
    assert.deepEqual(script.filter(([source]) => source === 'stderr'), [['stderr', 'two']]);
    assert.equal(script.length, 3);
    assert.equal(result.exitCode, 3);
    assert.equal(result.cancelled, false);
    assert.equal(result.service, 'IScriptServiceV2');
    assert.equal(result.workspaceCleanedUp, true);
    assert.equal(result.lineCount, lines.length);
    assert.ok(lines.every((l) => l.time instanceof Date));
    assert.deepEqual(readdirSync(agent.tentacle.workRoot), [], 'the workspace was completed');
  });

  it('consumes the ##octopus level markers, setting the level of the lines they wrap', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const lines = await collect(client.runScript(agent.endpoint, { body: 'echo hello' }));
    assert.ok(!lines.some((l) => l.text.startsWith('##octopus[')));
    const acquiring = lines.find((l) => l.text.startsWith('Acquiring isolation mutex'));
    assert.equal(acquiring?.level, 'verbose');
    assert.equal(lines.find((l) => l.text === 'hello')?.level, 'default');
    const kept = await collect(client.runScript(agent.endpoint, { body: 'echo hello', keepServiceMessages: true }));
    assert.ok(kept.some((l) => l.text === '##octopus[stdout-verbose]'));
  });

  it('loses no line of a 10,000-line script across log pages', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients({ ...FAST, startWaitMs: 0 });
    const run = client.runScript(agent.endpoint, { body: 'for i in $(seq 1 10000); do echo "line $i"; done' });
    const lines = (await collect(run)).filter((l) => l.source === 'stdout' && l.text.startsWith('line '));
    assert.equal(lines.length, 10_000);
    lines.forEach((l, i) => assert.equal(l.text, `line ${i + 1}`));
    assert.equal((await run).exitCode, 0);
  });

  it('passes arguments exactly as given, and puts files in the working directory', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const lines = await collect(
      client.runScript(agent.endpoint, {
        body: 'for a in "$@"; do echo "[$a]"; done\ncat conf/app.json',
        arguments: ['one', 'two words', 'say "hi"', ''],
        files: [{ name: 'conf/app.json', contents: '{"a":1}' }],
      }),
    );
    assert.deepEqual(
      lines.filter((l) => l.source === 'stdout' && !l.text.startsWith('Acquiring')).map((l) => l.text),
      ['[one]', '[two words]', '[say "hi"]', '[]', '{"a":1}'],
    );
  });

  it('cancelling a running script kills its process tree, says cancelled, and cleans up', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const pids = join(tempDir(), 'pids');
    const controller = new AbortController();
    const run = client.runScript(agent.endpoint, {
      body: 'sleep 600 &\necho "$$ $!" > "$1"\necho started\nwait',
      arguments: [pids],
      signal: controller.signal,
    });
    for await (const line of run) {
      if (line.text === 'started') controller.abort();
    }
    const result = await run;
    assert.equal(result.cancelled, true);
    assert.equal(result.exitCode, -1, 'a current Tentacle reports −1 for a script it killed on cancel');
    assert.equal(result.workspaceCleanedUp, true);
    const [shell, sleeper] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    await eventually(() => {
      assert.ok(processGone(shell!), 'the script is gone');
      assert.ok(processGone(sleeper!), 'its child is gone too');
    });
    assert.deepEqual(readdirSync(agent.tentacle.workRoot), []);
  });

  it('cancel() and an already aborted signal cancel too; a run that was never started says so', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const run = client.runScript(agent.endpoint, { body: 'echo started\nsleep 600' });
    for await (const line of run) if (line.text === 'started') run.cancel();
    assert.equal((await run).cancelled, true);
    const never = await client.runScript(agent.endpoint, { body: 'echo never', signal: AbortSignal.abort() });
    assert.equal(never.cancelled, true);
    assert.equal(never.lineCount, 0);
  });

  it('a script over its time limit is cancelled and rejects with ScriptTimeoutError', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    await assert.rejects(client.runScript(agent.endpoint, { body: 'sleep 600', timeoutMs: 200 }).result, (err: unknown) => {
      assert.ok(err instanceof ScriptTimeoutError, String(err));
      assert.equal(err.code, 'ERR_SCRIPT_TIMEOUT');
      assert.equal(err.exitCode, -1);
      return true;
    });
    await eventually(() => assert.deepEqual(readdirSync(agent.tentacle.workRoot), []));
  });

  it('a time limit that runs out before the script started is still a ScriptTimeoutError', async () => {
    const agent = await tentacle();
    // The forwarder holds the capabilities call, so the limit runs out before anything reaches the agent.
    const forwarder = await Forwarder.start(agent.endpoint);
    forwarder.pauseNew = true;
    const { tentacle: client } = clients();
    await assert.rejects(client.runScript(forwarder.endpointFor(agent.endpoint), { body: 'echo never', timeoutMs: 50 }).result, (err: unknown) => {
      assert.ok(err instanceof ScriptTimeoutError, String(err));
      assert.equal(err.exitCode, undefined);
      return true;
    });
    assert.equal(agent.tentacle.scriptsStarted, 0);
  });

  it('falls back to V1 on an old Tentacle with no capabilities service', async () => {
    const agent = await tentacle({ capabilities: false, scriptServiceV2: false });
    const { tentacle: client } = clients();
    const capabilities = await client.capabilities(agent.endpoint);
    assert.deepEqual(capabilities, { supported: ['IScriptService', 'IFileTransferService'], fallback: true, kubernetes: false, scriptService: 'IScriptService' });
    const run = client.runScript(agent.endpoint, { body: 'echo via v1\necho err >&2\nexit 4' });
    const lines = await collect(run);
    const result = await run;
    assert.equal(result.service, 'IScriptService');
    assert.equal(result.exitCode, 4);
    assert.deepEqual(
      output(lines)
        .filter(([, t]) => !t.startsWith('Acquiring'))
        .sort(),
      [
        ['stderr', 'err'],
        ['stdout', 'via v1'],
      ],
    );
    assert.ok(lines.some((l) => l.source === 'debug' && /exited with code 4/.test(l.text)), 'the trailing lines were read');
    assert.deepEqual(readdirSync(agent.tentacle.workRoot), []);
  });

  it('cancels on V1 too', async () => {
    const agent = await tentacle({ capabilities: false, scriptServiceV2: false });
    const { tentacle: client } = clients();
    const run = client.runScript(agent.endpoint, { body: 'echo started\nsleep 600' });
    for await (const line of run) if (line.text === 'started') run.cancel();
    const result = await run;
    assert.equal(result.service, 'IScriptService');
    assert.equal(result.cancelled, true);
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual(readdirSync(agent.tentacle.workRoot), []);
  });

  it('a V2 start lost mid-call is sent again and the script still runs once', async () => {
    const agent = await tentacle();
    const forwarder = await Forwarder.start(agent.endpoint);
    let cut = false;
    agent.agent.on('request', (r) => {
      // The first StartScript reached the agent; its connection dies before the answer gets back.
      if (r.method === 'StartScript' && !cut) {
        cut = true;
        forwarder.killAll();
      }
    });
    const { tentacle: client } = clients();
    const run = client.runScript(forwarder.endpointFor(agent.endpoint), { body: 'echo ran >> "$1"\necho done', arguments: [join(tempDir(), 'runs')] });
    const lines = await collect(run);
    assert.equal((await run).exitCode, 0);
    assert.ok(cut);
    assert.ok(forwarder.accepted >= 2, 'a new connection carried the repeated start');
    assert.equal(agent.tentacle.scriptsStarted, 1);
    assert.ok(lines.some((l) => l.text === 'done'));
  });

  it('a V1 start lost mid-call is never sent again', async () => {
    const agent = await tentacle({ capabilities: false, scriptServiceV2: false });
    const count = countRequests(agent);
    const forwarder = await Forwarder.start(agent.endpoint);
    agent.agent.on('request', (r) => {
      if (r.method === 'StartScript') forwarder.killAll();
    });
    const { tentacle: client } = clients();
    await assert.rejects(client.runScript(forwarder.endpointFor(agent.endpoint), { body: 'echo once' }).result, (err: unknown) => {
      assert.ok(err instanceof ScriptStartUncertainError, String(err));
      assert.match(err.message, /may be running/);
      return true;
    });
    assert.equal(count('IScriptService', 'StartScript'), 1);
    assert.ok(agent.tentacle.scriptsStarted <= 1);
  });

  it('refuses a Kubernetes agent with a clear error', async () => {
    const agent = await tentacle({ capabilities: ['IFileTransferService', 'IKubernetesScriptServiceV1'] });
    const { tentacle: client } = clients();
    await assert.rejects(client.runScript(agent.endpoint, { body: 'echo' }).result, UnsupportedScriptServiceError);
  });
});

describe('polling back-off', () => {
  it("follows Octopus's listening-Tentacle back-off: 300 ms, x1.15 per poll, 5 s after about 21 polls", () => {
    const delays = Array.from({ length: 30 }, (_, i) => pollDelay(POLL_DEFAULTS, i));
    assert.equal(delays[0], 300);
    assert.ok(Math.abs(delays[1]! - 345) < 1e-9);
    assert.ok(delays.every((d, i) => i === 0 || d >= delays[i - 1]!), 'never shrinks');
    assert.ok(delays[20]! < 5000 && delays[21]! === 5000, `reaches the cap after 21 polls: ${delays[20]} then ${delays[21]}`);
    assert.ok(delays.slice(21).every((d) => d === 5000));
  });
});

describe('capabilities', () => {
  it('are asked once per endpoint and cached; refresh asks again', async () => {
    const agent = await tentacle();
    const count = countRequests(agent);
    const { tentacle: client } = clients();
    const first = await client.capabilities(agent.endpoint);
    assert.deepEqual(first.supported, ['IScriptService', 'IFileTransferService', 'IScriptServiceV2']);
    assert.equal(first.fallback, false);
    assert.equal(first.scriptService, 'IScriptServiceV2');
    await client.capabilities(agent.endpoint);
    await Promise.all([client.runScript(agent.endpoint, { body: 'true' }).result, client.runScript(agent.endpoint, { body: 'true' }).result]);
    assert.equal(count('ICapabilitiesServiceV2', 'GetCapabilities'), 1);
    await client.capabilities(agent.endpoint, { refresh: true });
    assert.equal(count('ICapabilitiesServiceV2', 'GetCapabilities'), 2);
  });

  it('an agent that advertises only the V2 alpha is driven with V1', async () => {
    const agent = await tentacle({ capabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2Alpha'] });
    const { tentacle: client } = clients();
    assert.equal((await client.capabilities(agent.endpoint)).scriptService, 'IScriptService');
    assert.equal((await client.runScript(agent.endpoint, { body: 'exit 0' })).service, 'IScriptService');
  });
});

describe('file transfer', () => {
  const SIZE = 200 * 1024 * 1024;

  async function sha1Of(source: AsyncIterable<unknown>): Promise<string> {
    const h = createHash('sha1');
    for await (const chunk of source) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  it('uploads and downloads 200 MiB, streamed, with progress and matching SHA-1', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const expected = await sha1Of(payload(SIZE, 7));
    const upProgress: TransferProgress[] = [];
    const uploaded = await client.uploadFile(agent.endpoint, 'packages/big.bin', payload(SIZE, 7), { length: SIZE, onProgress: (p) => upProgress.push(p) });
    assert.equal(uploaded.sha1, expected);
    assert.equal(uploaded.length, SIZE);
    assert.equal(uploaded.fullPath, join(agent.tentacle.fileRoot, 'packages', 'big.bin'));
    assert.equal(await sha1Of(createReadStream(uploaded.fullPath)), expected, 'the agent saved exactly the bytes sent');
    assert.deepEqual(upProgress.at(-1), { bytes: SIZE, total: SIZE });
    assert.ok(upProgress.every((p, i) => i === 0 || p.bytes > upProgress[i - 1]!.bytes));

    const local = join(tempDir(), 'back.bin');
    const downProgress: TransferProgress[] = [];
    const downloaded = await client.downloadFile(agent.endpoint, 'packages/big.bin', local, { onProgress: (p) => downProgress.push(p) });
    assert.deepEqual(downloaded, { length: SIZE, sha1: expected });
    assert.equal(await sha1Of(createReadStream(local)), expected);
    assert.deepEqual(downProgress.at(-1), { bytes: SIZE, total: SIZE });
    assert.ok(downProgress.length > 100, 'progress was reported along the way');
  });

  it('uploads from a path, a Buffer and a string path, reusing one connection', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const dir = tempDir();
    const fromBuffer = await client.uploadFile(agent.endpoint, 'a.txt', Buffer.from('hello'));
    assert.equal(fromBuffer.sha1, createHash('sha1').update('hello').digest('hex'));
    const fromFile = await client.uploadFile(agent.endpoint, 'b.txt', fromBuffer.fullPath);
    assert.equal(fromFile.sha1, fromBuffer.sha1);
    const chunks: Buffer[] = [];
    const { Writable } = await import('node:stream');
    await client.downloadFile(agent.endpoint, 'b.txt', new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }));
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    assert.equal(agent.agent.connectionCount, 1);
    assert.ok(existsSync(dir));
  });

  it('a file the agent does not have rejects and writes nothing', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    const local = join(tempDir(), 'missing.bin');
    await assert.rejects(client.downloadFile(agent.endpoint, 'nope/missing.bin', local), (err: unknown) => {
      assert.ok(err instanceof RemoteFileNotFoundError);
      assert.equal(err.code, 'ERR_REMOTE_FILE_NOT_FOUND');
      assert.match(err.message, /nope\/missing\.bin/);
      return true;
    });
    assert.deepEqual(readdirSync(join(local, '..')), []);
  });

  it('paths that escape the agent file root are refused', async () => {
    const agent = await tentacle();
    const { tentacle: client } = clients();
    for (const path of ['../escape.txt', '/etc/passwd', 'a/../../escape.txt']) {
      await assert.rejects(client.uploadFile(agent.endpoint, path, Buffer.from('x')), (err: unknown) => err instanceof ServiceInvocationError && err.message.includes(path));
    }
    await assert.rejects(client.downloadFile(agent.endpoint, '/etc/passwd', join(tempDir(), 'p')), ServiceInvocationError);
    assert.ok(!existsSync(join(agent.tentacle.fileRoot, '..', 'escape.txt')));
  });

  it('an agent that reports another hash than the bytes sent fails the upload', async () => {
    const { endpoint, client: halibut } = await startAgent({
      services: {
        IFileTransferService: {
          UploadFile: async (_path: string, stream: DataStream) => {
            await stream.discard();
            return encodeUploadResult({ FullPath: '/tmp/x', Hash: '0'.repeat(40), Length: stream.length });
          },
        },
      },
    });
    const client = new TentacleClient(halibut, FAST);
    await assert.rejects(client.uploadFile(endpoint, 'x.bin', Buffer.from('payload')), (err: unknown) => {
      assert.ok(err instanceof UploadVerificationError);
      assert.equal(err.sent.sha1, createHash('sha1').update('payload').digest('hex'));
      assert.equal(err.reported.sha1, '0'.repeat(40));
      return true;
    });
  });
});

describe('disposal with await using', () => {
  it('leaving the scope of a TentacleClient cancels its runs on the agent, cleans up, and closes its HalibutClient', async () => {
    const agent = await tentacle();
    const halibut = new HalibutClient({ certificate: ids.client });
    onCleanup(() => halibut.close());
    const pids = join(tempDir(), 'pids');
    let run: ScriptRun | undefined;
    {
      await using client = new TentacleClient(halibut, FAST);
      run = client.runScript(agent.endpoint, { body: 'echo "$$" > "$1"\necho started\nsleep 600', arguments: [pids] });
      for await (const line of run) if (line.text === 'started') break;
    }
    // Disposal waited for the run: it is over, stopped on the agent, its workspace removed.
    const result = await run;
    assert.equal(result.cancelled, true);
    assert.equal(result.workspaceCleanedUp, true);
    await eventually(() => assert.ok(processGone(Number(readFileSync(pids, 'utf8').trim())), 'the script was stopped'));
    assert.deepEqual(readdirSync(agent.tentacle.workRoot), []);
    await assert.rejects(halibut.call(agent.endpoint, { service: 'IEchoService', method: 'SayHello' }), ClientClosedError);
  });

  it('the agents of halibut-client/testing close when their scope ends', async () => {
    const { tentacle: client } = clients();
    let endpoint: { url: string; thumbprint: string };
    let workRoot: string;
    {
      await using agent = await startTentacleAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint] });
      ({ endpoint } = agent);
      ({ workRoot } = agent.tentacle);
      assert.equal((await client.capabilities(endpoint)).scriptService, 'IScriptServiceV2');
    }
    assert.equal(existsSync(workRoot), false, 'the Tentacle services were disposed');
    await assert.rejects(client.halibut.call(endpoint, { service: 'ICapabilitiesServiceV2', method: 'GetCapabilities' }, { retry: false }), ConnectError);

    let url: string;
    {
      await using listening = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], services: {} });
      ({ url } = await listening.listen({ host: '127.0.0.1', port: 0 }));
    }
    await assert.rejects(client.halibut.call({ url, thumbprint: ids.agent.thumbprint }, { service: 'IEchoService', method: 'SayHello' }, { retry: false }), ConnectError);

    let services: Awaited<ReturnType<typeof createTentacleServices>> | undefined;
    {
      await using created = await createTentacleServices({});
      services = created;
      assert.equal(existsSync(created.workRoot), true);
    }
    assert.equal(existsSync(services.workRoot), false);
  });
});
