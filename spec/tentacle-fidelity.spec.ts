// The embedded agent against what a real current Tentacle (9.2, Linux, listening) was observed to do, point by point
// (docs: ../shared/protocol/tentacle-contracts.md §12, summarised in docs/agent.md). Each test names its point, and
// asserts the real Tentacle's behaviour over real mutual TLS with real bash, so a change that drifts from a Tentacle
// fails here. Where the agent deliberately differs by default, the test shows the default and the opt-in that gives
// the real behaviour. Scripts that must be at a certain point wait for marker files the test creates: nothing here
// depends on how fast anything runs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import {
  ProcessOutputSource,
  ProcessState,
  ScriptExitCodes,
  ScriptIsolationLevel,
  TypeNames,
  decodeUploadResult,
  encodeScriptStatusRequest,
  encodeScriptStatusRequestV2,
  newScriptTicket,
  type StartScriptCommandV2,
} from '../lib/contracts/index.js';
import { AmbiguousMethodMatchError, DataStream, HalibutClient, RemoteError, ServiceNotFoundError, MethodNotFoundError, TimeSpan, type Endpoint } from '../lib/index.js';
import { IMITATED_TENTACLE_VERSION, type StartedTentacleAgent } from '../lib/testing/index.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { tentacleHarness } from './support/tentacle-agent.js';
import { capabilities, scriptOutput, texts, v1Calls, v1Command, v2Calls, v2Command, type Observed, type ScriptCalls } from './support/tentacle-calls.js';

closeEverythingAfterwards();

// Set while the main agent starts: scripts must not see the library's own configuration (issue 15).
const { ids, client, tentacleAgent, main } = await tentacleHarness(
  {},
  { before: () => (process.env['HALIBUT_FIDELITY_SECRET'] = 'not for scripts'), after: () => delete process.env['HALIBUT_FIDELITY_SECRET'] },
);
const { tentacle, endpoint } = main;
const v2 = v2Calls(client, endpoint);
const v1 = v1Calls(client, endpoint);
const raw = (service: string, method: string, params: unknown[], ep: Endpoint = endpoint): Promise<unknown> => client.call(ep, { service, method, params });

const markers = await mkdtemp(join(tmpdir(), 'tentacle-fidelity-'));
onCleanup(() => rm(markers, { recursive: true, force: true }));
const waitFor = (name: string): string => `until [ -e '${join(markers, name)}' ]; do sleep 0.01; done`;
const mark = (name: string): Promise<void> => writeFile(join(markers, name), '');

const hasText = (o: Observed, text: string): boolean => o.logs.some((l) => l.Text === text);
const lineAfter = (o: Observed, prefix: string): string => o.logs.find((l) => l.Text.startsWith(prefix))!.Text.slice(prefix.length);
const workspaceOf = (ticket: string): string => join(tentacle.workRoot, ticket);
const gone = (pid: number): void => assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `process ${pid} is still there`);

async function startV2(command: StartScriptCommandV2, calls: ScriptCalls = v2): Promise<Observed> {
  return calls.observe(command.ScriptTicket.TaskId, await calls.start(command));
}

/** A script that reports its pid and a setsid child's pid, then waits for ever. */
const TREE = ['echo "pid $$"', 'setsid sleep 600 &', 'echo "session $!"', 'sleep 600 &', 'wait'].join('\n');

/** The lines a Tentacle's process runner writes on cancel, then the exit line with −1. */
function assertCancelledLog(o: Observed): void {
  const tail = o.logs.slice(-4);
  assert.ok(tail.every((l) => l.Source === ProcessOutputSource.Debug), texts(tail).join('\n'));
  assert.match(tail[0]!.Text, /^Swallowing InvalidOperationException calling Cancel(Error|Output)Read\.$/);
  assert.equal(tail[2]!.Text, 'Swallowing OperationCanceledException while waiting for last of the process output.');
  assert.match(tail[3]!.Text, /^Process \/bin\/bash in .* exited with code -1$/);
}

describe('§12.1 cancel of a running script', () => {
  it('V2: answers Running/0 at once, then Complete/−1 with the runner debug lines, and the whole tree (setsid too) dies', async () => {
    const o = await v2.pollUntil(await startV2(v2Command(TREE)), (x) => x.logs.some((l) => l.Text.startsWith('session ')), 'the children');
    const pid = Number(lineAfter(o, 'pid '));
    const session = Number(lineAfter(o, 'session '));
    const answer = await v2.cancel(o.ticket, o.next);
    assert.deepEqual([answer.State, answer.ExitCode], [ProcessState.Running, 0]);
    await v2.untilComplete(o);
    assert.deepEqual([o.last.State, o.last.ExitCode], [ProcessState.Complete, -1]);
    assertCancelledLog(o);
    await eventually(() => gone(pid), 10_000);
    await eventually(() => gone(session), 10_000);
    await v2.complete(o.ticket);
  });

  it('V1: the same answers and exit code', async () => {
    const ticket = await v1.startV1(v1Command(TREE));
    const o = await v1.pollUntil(v1.observe(ticket), (x) => x.logs.some((l) => l.Text.startsWith('session ')), 'the children');
    const session = Number(lineAfter(o, 'session '));
    const answer = await v1.cancel(ticket, o.next);
    assert.deepEqual([answer.State, answer.ExitCode], [ProcessState.Running, 0]);
    await v1.untilComplete(o);
    assert.deepEqual([o.last.State, o.last.ExitCode], [ProcessState.Complete, -1]);
    assertCancelledLog(o);
    await eventually(() => gone(session), 10_000);
    await v1.completeV1(ticket, 0);
  });
});

describe('isolation mutex', () => {
  const full = (body: string, task: string, overrides: Partial<StartScriptCommandV2> = {}) =>
    v2Command(body, { Isolation: ScriptIsolationLevel.FullIsolation, IsolationMutexName: `fidelity-${task}`, TaskId: `ServerTasks-${task}`, ...overrides });
  const WAIT = 'requires that no other Octopus scripts are executing on this target at the same time.';

  async function holder(task: string, isolation: ScriptIsolationLevel = ScriptIsolationLevel.FullIsolation): Promise<Observed> {
    const o = await startV2(full(['echo holding', waitFor(`release-${task}`)].join('\n'), task, { Isolation: isolation }));
    return v2.pollUntil(o, (x) => hasText(x, 'holding'), 'the holder to run');
  }

  it('§12.2 cancel while waiting: answers Pending/0, then Complete/−43 naming the task still running', async () => {
    const a = await holder('A');
    const b = await startV2(full('echo never', 'A', { TaskId: 'ServerTasks-B' }));
    await v2.pollUntil(b, (x) => hasText(x, '##octopus[stdout-wait]'), 'the waiter');
    const answer = await v2.cancel(b.ticket, b.next);
    assert.deepEqual([answer.State, answer.ExitCode], [ProcessState.Pending, 0]);
    await v2.untilComplete(b);
    assert.equal(b.last.ExitCode, ScriptExitCodes.Canceled);
    assert.ok(hasText(b, 'This task was canceled before it could start. Task [ServerTasks-A](~/app#/tasks/ServerTasks-A) is still running.'), texts(b.logs).join('\n'));
    await mark('release-A');
    await v2.untilComplete(a);
    await Promise.all([v2.complete(a.ticket), v2.complete(b.ticket)]);
  });

  it('§12.6 wait messages ("this" for a full-isolation waiter, "that" behind a full-isolation holder) and the timeout message', async () => {
    // A NoIsolation holder and a FullIsolation waiter: "this script requires…".
    const shared = await holder('S', ScriptIsolationLevel.NoIsolation);
    const writer = await startV2(full('echo w', 'S', { TaskId: 'ServerTasks-W' }));
    await v2.pollUntil(writer, (x) => hasText(x, '##octopus[stdout-wait]'), 'the writer to wait');
    assert.ok(hasText(writer, `Waiting for the script in task [ServerTasks-S](~/app#/tasks/ServerTasks-S) to finish as this script ${WAIT}`), texts(writer.logs).join('\n'));
    await mark('release-S');
    await v2.untilComplete(writer);
    await v2.untilComplete(shared);

    // A FullIsolation holder, a NoIsolation waiter that times out: "that script requires…", then the timeout.
    const a = await holder('T');
    const reader = await startV2(full('echo never', 'T', { TaskId: 'ServerTasks-R', Isolation: ScriptIsolationLevel.NoIsolation, ScriptIsolationMutexTimeout: TimeSpan.fromMilliseconds(100) }));
    await v2.untilComplete(reader);
    assert.equal(reader.last.ExitCode, ScriptExitCodes.Timeout);
    const lines = texts(reader.logs);
    const waitAt = lines.indexOf(`Waiting for the script in task [ServerTasks-T](~/app#/tasks/ServerTasks-T) to finish as that script ${WAIT}`);
    const timeoutAt = lines.indexOf('This task waited more than 0 minutes and timed out. Task [ServerTasks-T](~/app#/tasks/ServerTasks-T) is still running.');
    assert.ok(waitAt > 0 && timeoutAt > waitAt, lines.join('\n'));
    assert.equal(lines[waitAt - 1], '##octopus[stdout-wait]');
    assert.equal(lines.at(-1), 'Script execution timed out.');
    await mark('release-T');
    await v2.untilComplete(a);
    await Promise.all([shared, writer, a, reader].map((o) => v2.complete(o.ticket)));
  });
});

describe('§12.3 CompleteScript on a running script', () => {
  it('deletes the workspace and leaves the process running', async () => {
    const o = await v2.pollUntil(await startV2(v2Command(['echo "pid $$"', waitFor('complete-running')].join('\n'))), (x) => x.logs.some((l) => l.Text.startsWith('pid ')), 'the script');
    const pid = Number(lineAfter(o, 'pid '));
    assert.equal(await v2.complete(o.ticket), null);
    assert.equal(existsSync(workspaceOf(o.ticket)), false);
    process.kill(pid, 0); // still running (throws if not)
    assert.equal((await v2.status(o.ticket)).ExitCode, ScriptExitCodes.UnknownScript, 'the ticket is forgotten');
    await mark('complete-running');
    await eventually(() => gone(pid), 10_000);
  });
});

describe('§12.4 a background process that holds stdout', () => {
  it('keeps the script running after the shell exits, and its late output is delivered', async () => {
    const command = v2Command(['echo "pid $$"', `(${waitFor('late')}; echo late) &`, 'exit 0'].join('\n'));
    const o = await v2.pollUntil(await startV2(command), (x) => x.logs.some((l) => l.Text.startsWith('pid ')), 'the script');
    const pid = Number(lineAfter(o, 'pid '));
    await eventually(() => gone(pid), 10_000);
    // The shell is gone, but its output is still open.
    const still = await v2.status(o.ticket, o.next);
    assert.equal(still.State, ProcessState.Running);
    await mark('late');
    await v2.untilComplete(o);
    assert.equal(o.last.ExitCode, 0);
    assert.deepEqual(scriptOutput(o.logs).at(-1), ['StdOut', 'late']);
    await v2.complete(o.ticket);
  });
});

describe('§12.5 log preamble', () => {
  it('names the executable and the encoding and account in the start line', async () => {
    const o = await v2.untilComplete(await startV2(v2Command('echo hi')));
    const wd = workspaceOf(o.ticket);
    assert.deepEqual(
      o.logs.slice(3, 6).map((l) => [l.Source, l.Text]),
      [
        [ProcessOutputSource.Debug, 'Executable directory is /bin'],
        [ProcessOutputSource.Debug, 'Executable name or full path: /bin/bash'],
        [ProcessOutputSource.Debug, `Starting /bin/bash in working directory '${wd}' using 'Unicode (UTF-8)' encoding running as '${userInfo().username}'`],
      ],
    );
    await v2.complete(o.ticket);
  });
});

describe('§12.7 StartScript answers', () => {
  it('answers Pending with no lines without a duration, and a repeated start answers at once with Running', async () => {
    for (const duration of [null, TimeSpan.fromMilliseconds(0)]) {
      const command = v2Command(['echo started', waitFor('repeat')].join('\n'), { DurationToWaitForScriptToFinish: duration });
      const first = await v2.start(command);
      assert.deepEqual([first.State, first.ExitCode, first.Logs, first.NextLogSequence], [ProcessState.Pending, 0, [], 0]);
      const o = await v2.pollUntil(v2.observe(command.ScriptTicket.TaskId), (x) => hasText(x, 'started'), 'the script');
      // Its own duration (ten minutes) is not waited for: the call returns while the script still waits for the marker.
      const again = await v2.start({ ...command, DurationToWaitForScriptToFinish: TimeSpan.fromSeconds(600) });
      assert.equal(again.State, ProcessState.Running);
      await mark('repeat');
      await v2.untilComplete(o);
      await rm(join(markers, 'repeat'));
      await v2.complete(o.ticket);
    }
  });
});

describe('§12.8 workspace contents', () => {
  it('holds Output.log and (V2) scriptstate.json beside Bootstrap.sh and the files sent', async () => {
    const files = [{ Name: 'sent.txt', Contents: DataStream.fromBuffer('x'), EncryptionPassword: null }];
    const o = await v2.untilComplete(await startV2(v2Command('ls -1', { Files: files })));
    const listed = scriptOutput(o.logs).map(([, t]) => t);
    for (const name of ['Bootstrap.sh', 'Output.log', 'scriptstate.json', 'sent.txt']) assert.ok(listed.includes(name), `${name} in ${listed.join(', ')}`);
    const log = await readFile(join(workspaceOf(o.ticket), 'Output.log'), 'utf8');
    assert.match(log, /Acquiring isolation mutex RunningScript/);
    const state = JSON.parse(await readFile(join(workspaceOf(o.ticket), 'scriptstate.json'), 'utf8')) as { State: string; ExitCode: number };
    assert.deepEqual([state.State, state.ExitCode], ['Complete', 0]);
    await v2.complete(o.ticket);

    const ticket = await v1.startV1(v1Command('ls -1'));
    const v1o = await v1.untilComplete(v1.observe(ticket));
    const v1listed = scriptOutput(v1o.logs).map(([, t]) => t);
    assert.ok(v1listed.includes('Output.log') && !v1listed.includes('scriptstate.json'), v1listed.join(', '));
    await v1.completeV1(ticket, 0);
  });
});

describe('§12.9 ScriptFile names', () => {
  it('writes `sub\\win.txt` as one file with a backslash in its name', async () => {
    const o = await v2.untilComplete(
      await startV2(v2Command('ls -1; cat "sub\\\\win.txt"', { Files: [{ Name: 'sub\\win.txt', Contents: DataStream.fromBuffer('windows'), EncryptionPassword: null }] })),
    );
    const out = scriptOutput(o.logs).map(([, t]) => t);
    assert.ok(out.includes('sub\\win.txt'), out.join(', '));
    assert.equal(out.at(-1), 'windows');
    assert.equal(existsSync(join(workspaceOf(o.ticket), 'sub')), false);
    await v2.complete(o.ticket);
  });

  it('refuses names outside the workspace by default; allowScriptFilesOutsideWorkspace writes them where they point', async () => {
    const outside = join(markers, 'script-file-outside.txt');
    const file = (name: string) => [{ Name: name, Contents: DataStream.fromBuffer('escaped'), EncryptionPassword: null }];
    for (const name of ['../escaped.txt', outside]) {
      await assert.rejects(v2.start(v2Command('true', { Files: file(name) })), /is not a path inside the script's workspace/);
    }
    assert.equal(existsSync(outside), false);
    const open = await tentacleAgent({ allowScriptFilesOutsideWorkspace: true });
    const calls = v2Calls(client, open.endpoint);
    const o = await calls.untilComplete(await startV2(v2Command('true', { Files: file(outside) }), calls));
    assert.equal(o.last.ExitCode, 0);
    assert.equal(await readFile(outside, 'utf8'), 'escaped');
    const up = await calls.untilComplete(await startV2(v2Command('true', { Files: file('../up.txt') }), calls));
    assert.equal(await readFile(join(open.tentacle.workRoot, 'up.txt'), 'utf8'), 'escaped');
    await Promise.all([calls.complete(o.ticket), calls.complete(up.ticket)]);
  });
});

describe('§12.10 V1 tickets', () => {
  const utcStamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);

  it('are stamped in UTC, a null TaskId gives <stamp>--<n>, and tickets do not cross service versions', async () => {
    const before = utcStamp(new Date());
    const ticket = await v1.startV1(v1Command('echo v1', { TaskId: null }));
    const after = utcStamp(new Date());
    assert.match(ticket, /^\d{14}--\d+$/);
    const stamp = ticket.slice(0, 14);
    assert.ok(stamp >= before && stamp <= after, `${stamp} is not between ${before} and ${after} (UTC)`);
    await v1.untilComplete(v1.observe(ticket));

    const viaV2 = await v2.status(ticket, 0);
    assert.deepEqual([viaV2.State, viaV2.ExitCode], [ProcessState.Complete, ScriptExitCodes.UnknownScript]);
    const o = await v2.untilComplete(await startV2(v2Command('exit 3')));
    assert.equal(o.last.ExitCode, 3);
    const viaV1 = await v1.status(o.ticket, 0);
    assert.deepEqual([viaV1.State, viaV1.ExitCode, viaV1.Logs], [ProcessState.Complete, 0, []]);
    await v1.completeV1(ticket, 0);
    await v2.complete(o.ticket);
  });
});

describe('§12.11 file transfer paths', () => {
  const upload = (path: string, stream: DataStream | null, ep = endpoint) => raw('IFileTransferService', 'UploadFile', [path, stream], ep);
  const download = (path: string, ep = endpoint) => raw('IFileTransferService', 'DownloadFile', [path], ep);

  it('resolves relative paths against $TentacleHome, where a script finds them', async () => {
    const result = decodeUploadResult(await upload('Files\\package.zip', DataStream.fromBuffer('zip bytes')));
    assert.equal(result.FullPath, join(tentacle.home, 'Files', 'package.zip'));
    const o = await v2.untilComplete(await startV2(v2Command('cat "$TentacleHome/Files/package.zip"')));
    assert.deepEqual(scriptOutput(o.logs), [['StdOut', 'zip bytes']]);
    await v2.complete(o.ticket);
  });

  it('answers a null upload with no hash and length 0', async () => {
    const result = decodeUploadResult(await upload('null-upload.bin', null));
    assert.deepEqual(result, { FullPath: join(tentacle.home, 'null-upload.bin'), Hash: null, Length: 0 });
  });

  it('refuses absolute paths outside the home by default; allowPathsOutsideHome reaches them', async () => {
    const outside = join(markers, 'transfer-outside.txt');
    await assert.rejects(upload(outside, DataStream.fromBuffer('x')), /outside the agent's home/);
    assert.equal(existsSync(outside), false);
    const open = await tentacleAgent({ allowPathsOutsideHome: true, tcpNoDelay: true });
    const result = decodeUploadResult(await upload(outside, DataStream.fromBuffer('anywhere'), open.endpoint));
    assert.equal(result.FullPath, outside);
    const back = await download(outside, open.endpoint);
    assert.ok(back instanceof DataStream);
    assert.equal((await back.toBuffer()).toString(), 'anywhere');
  });

  it('keeps uploads inside the home while a directory symlink inside it is flipped to point outside (issue 15)', async () => {
    const own = await tentacleAgent({ tcpNoDelay: true });
    const home = own.tentacle.home;
    const outside = await mkdtemp(join(tmpdir(), 'tentacle-fidelity-outside-'));
    onCleanup(() => rm(outside, { recursive: true, force: true }));
    await mkdir(join(home, 'real'));
    await symlink(join(home, 'real'), join(home, 'flip'));
    let flipping = true;
    const flipper = (async () => {
      // Swap the link between a target inside the home and one outside, as fast as the loop goes.
      for (let i = 0; flipping; i++) {
        const next = join(home, `flip.next${i % 2}`);
        await symlink(i % 2 === 0 ? outside : join(home, 'real'), next);
        await rename(next, join(home, 'flip'));
      }
    })();
    const results: string[] = [];
    // At least 150 uploads, and on until both outcomes were seen (bounded), so the race is known to have happened.
    for (let i = 0; i < 2000 && (i < 150 || !results.includes('written') || !results.includes('refused')); i++) {
      results.push(await upload(`flip/sub/f${i}.txt`, DataStream.fromBuffer('x'), own.endpoint).then(() => 'written', () => 'refused'));
    }
    flipping = false;
    await flipper;
    const landed = readdirSync(outside, { recursive: true }).filter((name) => statSync(join(outside, String(name))).isFile());
    assert.deepEqual(landed, [], 'no file landed outside the home');
    assert.ok(results.includes('written'), 'uploads through the link went through while it pointed inside');
    assert.ok(results.includes('refused'), 'and were refused while it pointed outside (the race was exercised)');
  });
});

describe('§12.12 service and method lookup', () => {
  it('service names are case-sensitive, with Tentacle\'s own unknown-service error', async () => {
    await assert.rejects(raw('iscriptservicev2', 'GetStatus', [encodeScriptStatusRequestV2({ Ticket: { TaskId: 'x' }, LastLogSequence: 0 })]), (err: unknown) => {
      assert.ok(err instanceof ServiceNotFoundError, String(err));
      assert.equal(err.serverMessage, 'Error: iscriptservicev2 has not been registered through an IAutofacServiceSource');
      assert.ok(err.details?.startsWith('Octopus.Tentacle.Communications.UnknownServiceNameException'), String(err.details));
      assert.equal(err.halibutErrorType, null);
      return true;
    });
  });

  it('method names are case-insensitive; an unknown method names the implementation class', async () => {
    assert.deepEqual(await capabilities(client, endpoint), ['IScriptService', 'IFileTransferService', 'IScriptServiceV2']);
    assert.ok(await raw('ICapabilitiesServiceV2', 'getcapabilities', []));
    await assert.rejects(raw('IScriptServiceV2', 'NoSuchMethod', []), (err: unknown) => {
      assert.ok(err instanceof MethodNotFoundError, String(err));
      assert.equal(err.serverMessage, 'Method Octopus.Tentacle.Core.Services.Scripts.ScriptServiceV2::NoSuchMethodAsync not found');
      assert.equal(err.halibutErrorType, 'Halibut.Exceptions.MethodNotFoundHalibutClientException');
      assert.ok(err.details !== null);
      return true;
    });
  });
});

describe('§12.13 arguments that do not fit', () => {
  const request = encodeScriptStatusRequestV2({ Ticket: { TaskId: 'x' }, LastLogSequence: 0 });
  const untyped = Object.fromEntries(Object.entries(request).filter(([k]) => k !== '$type'));

  it('no $type, an extra or missing parameter, a string for a DTO, or another contract are ambiguous-match errors', async () => {
    const cases: Array<[string, unknown[]]> = [
      ['no $type', [untyped]],
      ['an extra parameter', [request, 'extra']],
      ['a missing parameter', []],
      ['a string for a DTO', ['x']],
      ['another contract', [encodeScriptStatusRequest({ Ticket: { TaskId: 'x' }, LastLogSequence: 0 })]],
    ];
    for (const [what, params] of cases) {
      await assert.rejects(raw('IScriptServiceV2', 'GetStatus', params), (err: unknown) => {
        assert.ok(err instanceof AmbiguousMethodMatchError, `${what}: ${String(err)}`);
        assert.match(err.serverMessage, /^Could not decide which candidate to call out of the following methods:\n/, what);
        assert.equal(err.halibutErrorType, 'Halibut.Exceptions.AmbiguousMethodMatchHalibutClientException');
        return true;
      });
    }
  });

  it('an unknown $type closes the connection without a response; a null DTO is a NullReference-style error', async () => {
    let dropped = 0;
    main.agent.on('connectionError', () => dropped++);
    await assert.rejects(raw('IScriptServiceV2', 'GetStatus', [{ ...request, $type: 'Octopus.NoSuch.Type, Octopus.NoSuch' }]), (err: unknown) => {
      assert.ok(!(err instanceof RemoteError), `a dropped connection, not an answer: ${String(err)}`);
      return true;
    });
    assert.equal(dropped, 1);
    await assert.rejects(raw('IScriptServiceV2', 'GetStatus', [null]), (err: unknown) => {
      assert.ok(err instanceof RemoteError, String(err));
      assert.equal(err.serverMessage, 'Object reference not set to an instance of an object.');
      assert.match(err.details ?? '', /^System\.Reflection\.TargetInvocationException: .*\n ---> System\.NullReferenceException: /);
      return true;
    });
  });
});

describe('services served beside the Tentacle\'s', () => {
  it('take their own $types and arguments as they come, and are looked up by exact name', async () => {
    const own = await tentacleAgent({ tcpNoDelay: true, services: { IOwnService: { Echo: (value: unknown) => value } } });
    const value = { $type: 'My.Own.Type, Mine', Text: 'kept' };
    assert.deepEqual(await raw('IOwnService', 'Echo', [value], own.endpoint), value);
    await assert.rejects(raw('iownservice', 'Echo', [value], own.endpoint), ServiceNotFoundError);
  });
});

describe('§12.14 script environment', () => {
  it('sets the Tentacle variables, and leaves out the HALIBUT_* variables of the agent process', async () => {
    const names = [
      'TentacleHome',
      'TentacleJournal',
      'TentacleApplications',
      'TentacleInstanceName',
      'TentacleVersion',
      'TentacleExecutablePath',
      'TentacleProgramDirectoryPath',
      'AgentProgramDirectoryPath',
      'TentacleNetFrameworkDescription',
      'TentacleCertificateSignatureAlgorithm',
      'TentacleUseDefaultProxy',
      'TentacleProxyPort',
      'CalamariPackageRetentionJournalPath',
    ];
    const body = [...names.map((n) => `echo "${n}=\${${n}-UNSET}"`), 'echo "secret=${HALIBUT_FIDELITY_SECRET-UNSET}"'].join('\n');
    const o = await v2.untilComplete(await startV2(v2Command(body)));
    const seen = new Map(scriptOutput(o.logs).map(([, t]) => t.split('=', 2) as [string, string]));
    for (const n of names) assert.ok(seen.get(n) !== undefined && seen.get(n) !== 'UNSET' && seen.get(n) !== '', `${n}=${String(seen.get(n))}`);
    assert.equal(seen.get('TentacleHome'), tentacle.home);
    assert.equal(seen.get('TentacleVersion'), IMITATED_TENTACLE_VERSION);
    assert.equal(seen.get('secret'), 'UNSET');
    await v2.complete(o.ticket);
  });
});

describe('§12.15 Nagle', () => {
  it('is left on by default (no TCP_NODELAY on accepted sockets), and tcpNoDelay: true turns it off', async () => {
    const noDelayCalls = async (agent: StartedTentacleAgent): Promise<boolean[]> => {
      const calls: boolean[] = [];
      const watch = (socket: TLSSocket): void => {
        const original = socket.setNoDelay.bind(socket);
        socket.setNoDelay = (noDelay?: boolean) => {
          calls.push(noDelay ?? true);
          return original(noDelay);
        };
      };
      agent.agent.on('connection', watch);
      const fresh = new HalibutClient({ certificate: ids.client, retry: false });
      try {
        await capabilities(fresh, agent.endpoint);
      } finally {
        await fresh.close();
        agent.agent.off('connection', watch);
      }
      return calls;
    };
    assert.equal(main.agent.tcpNoDelay, false);
    assert.deepEqual(await noDelayCalls(main), [], 'a Tentacle never disables Nagle');
    const fast = await tentacleAgent({ tcpNoDelay: true });
    assert.equal(fast.agent.tcpNoDelay, true);
    assert.deepEqual(await noDelayCalls(fast), [true]);
  });
});

describe('§12.16 matched exactly (a selection)', () => {
  it('exit codes from the script itself, Complete semantics, 644 files, lowercase SHA-1, missing file → null', async () => {
    for (const code of [137, 143, 44, 255, 2]) {
      const o = await v2.untilComplete(await startV2(v2Command(`exit ${code}`)));
      assert.equal(o.last.ExitCode, code);
      assert.equal(await v2.complete(o.ticket), null);
      assert.equal(existsSync(workspaceOf(o.ticket)), false);
    }
    const sent = await v2.untilComplete(await startV2(v2Command('stat -c %a f.txt', { Files: [{ Name: 'f.txt', Contents: DataStream.fromBuffer('x'), EncryptionPassword: null }] })));
    assert.deepEqual(scriptOutput(sent.logs), [['StdOut', '644']]);
    await v2.complete(sent.ticket);
    const body = Buffer.from('Hash me');
    const result = decodeUploadResult(await raw('IFileTransferService', 'UploadFile', ['hashed.bin', DataStream.fromBuffer(body)]));
    assert.equal(result.Hash, createHash('sha1').update(body).digest('hex'));
    assert.equal(lstatSync(result.FullPath).mode & 0o777, 0o644);
    assert.equal(await raw('IFileTransferService', 'DownloadFile', ['no/such/file']), null);
    const unknown = await v2.status(newScriptTicket().TaskId, 0);
    assert.deepEqual([unknown.State, unknown.ExitCode], [ProcessState.Complete, ScriptExitCodes.UnknownScript]);
    assert.equal(TypeNames.ScriptStatusResponseV2.startsWith('Octopus.Tentacle.Contracts.ScriptServiceV2.'), true);
  });
});

describe('safety options (issue 15)', () => {
  it('maxConcurrentScripts makes scripts beyond the cap wait (Pending) until one finishes, and a cancel ends the wait', async () => {
    const capped = await tentacleAgent({ maxConcurrentScripts: 1, tcpNoDelay: true });
    const calls = v2Calls(client, capped.endpoint);
    const first = await calls.pollUntil(await startV2(v2Command(['echo first', waitFor('cap')].join('\n')), calls), (x) => hasText(x, 'first'), 'the first script');
    const second = await calls.pollUntil(await startV2(v2Command('echo second'), calls), (x) => hasText(x, '##octopus[stdout-wait]'), 'the second to wait');
    assert.equal(second.last.State, ProcessState.Pending);
    const third = await calls.pollUntil(await startV2(v2Command('echo third'), calls), (x) => hasText(x, '##octopus[stdout-wait]'), 'the third to wait');
    await calls.cancel(third.ticket, third.next);
    await calls.untilComplete(third);
    assert.equal(third.last.ExitCode, ScriptExitCodes.Canceled);
    await mark('cap');
    await calls.untilComplete(first);
    await calls.untilComplete(second);
    assert.ok(hasText(second, 'second'));
    await Promise.all([first, second, third].map((o) => calls.complete(o.ticket)));
  });

  it('closing the agent kills scripts still running, including ones already completed by the client', async () => {
    const own = await tentacleAgent({ tcpNoDelay: true });
    const calls = v2Calls(client, own.endpoint);
    const o = await calls.pollUntil(await startV2(v2Command(TREE), calls), (x) => x.logs.some((l) => l.Text.startsWith('session ')), 'the children');
    const pid = Number(lineAfter(o, 'pid '));
    const session = Number(lineAfter(o, 'session '));
    await calls.complete(o.ticket); // forgotten by the agent, but still running
    process.kill(pid, 0);
    await own.close();
    await eventually(() => gone(pid), 10_000);
    await eventually(() => gone(session), 10_000);
    assert.equal((await readdir(tmpdir())).includes(own.tentacle.home), false);
  });
});
