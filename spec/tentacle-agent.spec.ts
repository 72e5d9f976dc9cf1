// The embeddable agent's Tentacle services, driven over real mutual TLS by the client with the contract encoders,
// running real bash. Scripts that must be at a certain point wait for a marker file the test creates once it has
// seen (through GetStatus) that they got there: nothing here depends on how fast anything runs.
import assert from 'node:assert/strict';
import { createDecipheriv, createHash, pbkdf2Sync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ProcessOutputSource,
  ProcessState,
  ScriptExitCodes,
  ScriptIsolationLevel,
  decodeUploadResult,
  newScriptTicket,
  type StartScriptCommandV2,
} from '../lib/contracts/index.js';
import { DataStream, ServiceInvocationError, ServiceNotFoundError, TimeSpan, type Endpoint } from '../lib/index.js';
import { ListeningAgent, createTentacleServices } from '../lib/testing/index.js';
import { onCleanup, closeEverythingAfterwards } from './support/cleanup.js';
import { eventually } from './support/eventually.js';
import { payload } from './support/payload.js';
import { tentacleHarness } from './support/tentacle-agent.js';
import { capabilities, scriptOutput, texts, v1Calls, v1Command, v2Calls, v2Command, type Observed, type ScriptCalls } from './support/tentacle-calls.js';

closeEverythingAfterwards();

const { ids, client, tentacleAgent, main } = await tentacleHarness();
const { tentacle, endpoint } = main;
const v2 = v2Calls(client, endpoint);
const v1 = v1Calls(client, endpoint);

// A directory for marker files shared by scripts and the test.
const markers = await mkdtemp(join(tmpdir(), 'tentacle-spec-'));
onCleanup(() => rm(markers, { recursive: true, force: true }));

/** A bash line that waits for a marker file (the script's side of a handshake with the test). */
const waitFor = (name: string): string => `until [ -e '${join(markers, name)}' ]; do sleep 0.01; done`;
const mark = (name: string): Promise<void> => writeFile(join(markers, name), '');

async function startV2(command: StartScriptCommandV2, calls: ScriptCalls = v2): Promise<Observed> {
  return calls.observe(command.ScriptTicket.TaskId, await calls.start(command));
}

const workspaceOf = (ticket: string): string => join(tentacle.workRoot, ticket);
const hasText = (o: Observed, text: string): boolean => o.logs.some((l) => l.Text === text);

/** Fails unless no process is left in the process group (the kernel answers ESRCH). */
function groupIsGone(pgid: number): void {
  assert.throws(() => process.kill(-pgid, 0), { code: 'ESRCH' }, `process group ${pgid} still has members`);
}

describe('IScriptServiceV2', () => {
  it('runs a script: preamble, stdout and stderr in order with their sources, exit code, completion', async () => {
    const command = v2Command(
      [
        'echo out1',
        waitFor('order-1'),
        'echo err1 >&2',
        waitFor('order-2'),
        'echo out2',
        // No newline: the last line is only complete when the process ends.
        "printf 'partial'",
        'exit 3',
      ].join('\n'),
    );
    const ticket = command.ScriptTicket.TaskId;
    const o = await startV2(command);
    // Each line is seen before the script may write the next one, so their order cannot be a race between pipes.
    await v2.pollUntil(o, (x) => hasText(x, 'out1'), 'out1');
    await mark('order-1');
    await v2.pollUntil(o, (x) => hasText(x, 'err1'), 'err1');
    await mark('order-2');
    await v2.untilComplete(o);

    assert.equal(o.last.State, ProcessState.Complete);
    assert.equal(o.last.ExitCode, 3);
    assert.equal(o.next, o.logs.length, 'NextLogSequence is the number of records');
    const wd = workspaceOf(ticket);
    assert.deepEqual(
      o.logs.slice(0, 6).map((l) => [l.Source, l.Text]),
      [
        [ProcessOutputSource.StdOut, '##octopus[stdout-verbose]'],
        [ProcessOutputSource.StdOut, 'Acquiring isolation mutex RunningScript with NoIsolation in ServerTasks-1'],
        [ProcessOutputSource.StdOut, '##octopus[stdout-default]'],
        [ProcessOutputSource.Debug, 'Executable directory is /bin'],
        [ProcessOutputSource.Debug, 'Executable name or full path: /bin/bash'],
        [ProcessOutputSource.Debug, `Starting /bin/bash in working directory '${wd}' using 'Unicode (UTF-8)' encoding running as '${userInfo().username}'`],
      ],
    );
    assert.deepEqual(scriptOutput(o.logs), [
      ['StdOut', 'out1'],
      ['StdErr', 'err1'],
      ['StdOut', 'out2'],
      ['StdOut', 'partial'],
    ]);
    assert.deepEqual([o.logs.at(-1)!.Source, o.logs.at(-1)!.Text], [ProcessOutputSource.Debug, `Process /bin/bash in ${wd} exited with code 3`]);
    for (const [i, l] of o.logs.entries()) {
      assert.ok(l.Occurred instanceof Date);
      if (i > 0) assert.ok(l.Occurred >= o.logs[i - 1]!.Occurred, 'records are in the order they were read');
    }

    assert.ok(existsSync(wd));
    assert.equal(await v2.complete(ticket), null);
    assert.equal(existsSync(wd), false, 'CompleteScript deletes the workspace');
    const after = await v2.status(ticket);
    assert.equal(after.ExitCode, ScriptExitCodes.UnknownScript, 'the ticket is forgotten');
  });

  it('pages a 10,000-line log by LastLogSequence without losing a line', async () => {
    // `seq | sed` writes in large blocks, so lines are split across chunk boundaries.
    const command = v2Command([`seq 1 5000 | sed 's/^/line /'`, waitFor('paging'), `seq 5001 10000 | sed 's/^/line /'`].join('\n'));
    const o = await startV2(command);
    await v2.pollUntil(o, (x) => hasText(x, 'line 5000'), 'the first half');
    await mark('paging');
    await v2.untilComplete(o);
    assert.equal(o.last.ExitCode, 0);
    const lines = scriptOutput(o.logs);
    assert.equal(lines.length, 10_000);
    lines.forEach(([source, text], i) => {
      if (source !== 'StdOut' || text !== `line ${i + 1}`) assert.fail(`record ${i + 1} is ${source} '${text}'`);
    });
    assert.ok(o.pages >= 2, `the log came in ${o.pages} pages`);
    // Asking again from the start gives the whole log at once.
    const all = await v2.status(o.ticket, 0);
    assert.equal(all.Logs.length, o.logs.length);
    assert.equal(all.NextLogSequence, o.logs.length);
    // Nothing after the end: the sequence stays where it was.
    const none = await v2.status(o.ticket, o.next);
    assert.deepEqual([none.Logs.length, none.NextLogSequence], [0, o.next]);
    await v2.complete(o.ticket);
  });

  it('splits the joined arguments the way .NET does', async () => {
    const o = await startV2(v2Command(`printf '[%s]\\n' "$#" "$1" "$2"`, { Arguments: ['world', '"two words"'] }));
    await v2.untilComplete(o);
    assert.deepEqual(
      scriptOutput(o.logs).map(([, text]) => text),
      ['[2]', '[world]', '[two words]'],
    );
    await v2.complete(o.ticket);
  });

  it('writes script files into the working directory, prefers the Bash body, and sets the Tentacle variables', async () => {
    const command = v2Command('echo "from ScriptBody"', {
      Scripts: { Bash: 'cat foo.txt\r\necho\r\ncat sub/dir/bar.txt\r\necho\r\necho "home=$TentacleHome"\r\necho "journal=$TentacleJournal"\r\n' },
      Files: [
        { Name: 'foo.txt', Contents: DataStream.fromBuffer('contents of foo'), EncryptionPassword: null },
        { Name: 'sub/dir/bar.txt', Contents: DataStream.fromBuffer('bar, in a subdirectory'), EncryptionPassword: null },
      ],
    });
    const o = await startV2(command);
    await v2.untilComplete(o);
    const home = tentacle.home;
    assert.equal(dirname(tentacle.workRoot), home, 'workspaces live in Work/ under the home');
    assert.deepEqual(
      scriptOutput(o.logs).map(([, t]) => t),
      ['contents of foo', 'bar, in a subdirectory', `home=${home}`, `journal=${join(home, 'DeploymentJournal.xml')}`],
    );
    assert.equal(o.last.ExitCode, 0);
    await v2.complete(o.ticket);
  });

  it('stores a script file with an EncryptionPassword encrypted as Calamari expects', async () => {
    const command = v2Command('echo written', {
      Files: [{ Name: 'variables.secret', Contents: DataStream.fromBuffer('{"Password":"hunter2"}'), EncryptionPassword: 'let me in' }],
    });
    const o = await startV2(command);
    await v2.untilComplete(o);
    // "IV__", a 16-byte IV, then AES-128-CBC keyed by PBKDF2-SHA1(password, "Octopuss", 1000 iterations).
    const stored = await readFile(join(workspaceOf(o.ticket), 'variables.secret'));
    assert.equal(stored.subarray(0, 4).toString(), 'IV__');
    const key = pbkdf2Sync('let me in', 'Octopuss', 1000, 16, 'sha1');
    const decipher = createDecipheriv('aes-128-cbc', key, stored.subarray(4, 20));
    assert.equal(Buffer.concat([decipher.update(stored.subarray(20)), decipher.final()]).toString(), '{"Password":"hunter2"}');
    await v2.complete(o.ticket);
  });

  it('runs a PowerShell-only script under pwsh when pwsh is on the PATH', async () => {
    // A stand-in pwsh that shows how it was invoked and runs nothing.
    const bin = await mkdtemp(join(tmpdir(), 'tentacle-spec-bin-'));
    onCleanup(() => rm(bin, { recursive: true, force: true }));
    await writeFile(join(bin, 'pwsh'), '#!/bin/bash\necho "args: $*"\ncat "$4"\n', { mode: 0o755 });
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    let o: Observed;
    try {
      o = await startV2(v2Command('', { Scripts: { PowerShell: 'Write-Host "hello"' }, Arguments: ['-Name', 'x'] }));
    } finally {
      process.env['PATH'] = path;
    }
    await v2.untilComplete(o);
    const bootstrap = join(workspaceOf(o.ticket), 'Bootstrap.ps1');
    assert.ok(o.logs.some((l) => l.Text.startsWith(`Starting ${join(bin, 'pwsh')} in working directory '${workspaceOf(o.ticket)}' using`)));
    assert.deepEqual(
      scriptOutput(o.logs).map(([, t]) => t),
      [`args: -NonInteractive -NoProfile -File ${bootstrap} -Name x`, 'Write-Host "hello"'],
    );
    await v2.complete(o.ticket);
  });

  it('refuses a script file that would land outside the workspace, and leaves the ticket usable', async () => {
    const command = v2Command('echo hi', { Files: [{ Name: '../escaped.txt', Contents: DataStream.fromBuffer('x'), EncryptionPassword: null }] });
    const before = tentacle.scriptsStarted;
    await assert.rejects(v2.start(command), (err: unknown) => {
      assert.ok(err instanceof ServiceInvocationError);
      assert.match(err.message, /'\.\.\/escaped\.txt' is not a path inside the script's workspace/);
      return true;
    });
    assert.equal(tentacle.scriptsStarted, before);
    assert.equal(existsSync(join(tentacle.workRoot, 'escaped.txt')), false);
    const fixed = await startV2({ ...command, Files: [] });
    await v2.untilComplete(fixed);
    assert.ok(hasText(fixed, 'hi'));
    await v2.complete(fixed.ticket);
  });

  it('starts a ticket once however often (and however concurrently) StartScript is repeated', async () => {
    const command = v2Command(['echo ran', waitFor('idempotent')].join('\n'));
    const before = tentacle.scriptsStarted;
    const first = await startV2(command);
    const again = await v2.start(command);
    assert.equal(tentacle.scriptsStarted, before + 1);
    assert.equal(again.Ticket.TaskId, command.ScriptTicket.TaskId);
    await v2.pollUntil(first, (x) => hasText(x, 'ran'), 'the script to run');
    const repeated = await v2.start(command);
    assert.ok(texts(repeated.Logs).includes('ran'), 'a repeated start returns the log from the beginning');
    assert.equal(repeated.Logs[0]!.Text, '##octopus[stdout-verbose]');

    const concurrent = v2Command('echo ran');
    const [a, b] = await Promise.all([v2.start(concurrent), v2.start(concurrent)]);
    assert.equal(tentacle.scriptsStarted, before + 2, 'two concurrent starts of one ticket start one script');
    assert.equal(a.Ticket.TaskId, b.Ticket.TaskId);
    const c = await v2.untilComplete(v2.observe(concurrent.ScriptTicket.TaskId));
    assert.equal(texts(c.logs).filter((t) => t === 'ran').length, 1);

    await mark('idempotent');
    await v2.untilComplete(first);
    assert.equal(texts(first.logs).filter((t) => t === 'ran').length, 1);
    await v2.complete(first.ticket);
    await v2.complete(concurrent.ScriptTicket.TaskId);
  });

  it('waits up to DurationToWaitForScriptToFinish before answering StartScript', async () => {
    const quick = await v2.start(v2Command('echo quick', { DurationToWaitForScriptToFinish: TimeSpan.fromSeconds(20) }));
    assert.equal(quick.State, ProcessState.Complete);
    assert.equal(quick.ExitCode, 0);
    assert.ok(texts(quick.Logs).includes('quick'));
    await v2.complete(quick.Ticket.TaskId);

    const slow = v2Command(waitFor('duration'), { DurationToWaitForScriptToFinish: TimeSpan.fromMilliseconds(50) });
    const answered = await v2.start(slow);
    assert.notEqual(answered.State, ProcessState.Complete, 'a script that is still running is reported as such');
    await mark('duration');
    await v2.untilComplete(v2.observe(slow.ScriptTicket.TaskId));
    await v2.complete(slow.ScriptTicket.TaskId);
  });

  it('reports an unknown ticket as Complete with −45, and completing one is harmless', async () => {
    const ticket = newScriptTicket().TaskId;
    for (const response of [await v2.status(ticket, 0), await v2.cancel(ticket, 0)]) {
      assert.deepEqual([response.State, response.ExitCode, response.Logs], [ProcessState.Complete, ScriptExitCodes.UnknownScript, []]);
    }
    assert.equal(await v2.complete(ticket), null);
  });

  it('cancels a running script by killing its whole process tree (exit code −1), then Complete deletes the workspace', async () => {
    const command = v2Command(['echo "pid $$"', 'sleep 600 &', 'echo "child $!"', 'setsid sleep 600 &', 'echo "session $!"', 'wait'].join('\n'));
    const o = await startV2(command);
    await v2.pollUntil(o, (x) => x.logs.some((l) => l.Text.startsWith('session ')), 'the script to start its children');
    const pid = Number(o.logs.find((l) => l.Text.startsWith('pid '))!.Text.slice(4));
    const child = Number(o.logs.find((l) => l.Text.startsWith('child '))!.Text.slice(6));
    const session = Number(o.logs.find((l) => l.Text.startsWith('session '))!.Text.slice(8));
    assert.equal(o.last.State, ProcessState.Running);
    process.kill(-pid, 0); // the group is there (this throws if it is not)

    let cancelled = await v2.cancel(o.ticket, o.next);
    // A client repeats CancelScript until it sees Complete.
    for (let i = 0; i < 200 && cancelled.State !== ProcessState.Complete; i++) cancelled = await v2.cancel(o.ticket, o.next);
    assert.equal(cancelled.State, ProcessState.Complete);
    assert.equal(cancelled.ExitCode, -1);
    assert.ok(texts(cancelled.Logs).some((t) => t.endsWith('exited with code -1')));
    // The killed processes are gone once reaped; in a container whose init reaps slowly that can take a moment.
    await eventually(() => groupIsGone(pid), 10_000);
    await eventually(() => assert.throws(() => process.kill(child, 0), { code: 'ESRCH' }), 10_000);
    await eventually(() => assert.throws(() => process.kill(session, 0), { code: 'ESRCH' }), 10_000);

    assert.ok(existsSync(workspaceOf(o.ticket)));
    await v2.complete(o.ticket);
    assert.equal(existsSync(workspaceOf(o.ticket)), false);
  });
});

describe('isolation mutex', () => {
  const full = (body: string, name: string, overrides: Partial<StartScriptCommandV2> = {}) =>
    v2Command(body, { Isolation: ScriptIsolationLevel.FullIsolation, IsolationMutexName: name, TaskId: `ServerTasks-${name}`, ...overrides });
  const isWaiting = (o: Observed): boolean => hasText(o, '##octopus[stdout-wait]');

  /** Starts a FullIsolation script that holds `name` until the marker `release-<name>` appears. */
  async function holder(name: string): Promise<Observed> {
    const o = await startV2(full(['echo holding', waitFor(`release-${name}`), `touch '${join(markers, `done-${name}`)}'`].join('\n'), name));
    return v2.pollUntil(o, (x) => hasText(x, 'holding'), 'the holder to run');
  }

  it('serialises FullIsolation scripts with the same mutex name', async () => {
    const a = await holder('serial');
    const b = await startV2(full(`if [ -e '${join(markers, 'done-serial')}' ]; then echo "ran after the holder"; else echo "overlapped"; fi`, 'serial', { TaskId: 'ServerTasks-b' }));
    await v2.pollUntil(b, isWaiting, 'the second script to wait');
    assert.equal(b.last.State, ProcessState.Pending);
    assert.ok(hasText(b, 'Acquiring isolation mutex serial with FullIsolation in ServerTasks-b'));
    assert.ok(hasText(b, 'Waiting for the script in task [ServerTasks-serial](~/app#/tasks/ServerTasks-serial) to finish as this script requires that no other Octopus scripts are executing on this target at the same time.'));
    await mark('release-serial');
    await v2.untilComplete(a);
    await v2.untilComplete(b);
    assert.ok(hasText(b, 'ran after the holder'));
    assert.equal(b.last.ExitCode, 0);
    await Promise.all([v2.complete(a.ticket), v2.complete(b.ticket)]);
  });

  it('lets NoIsolation scripts with the same name run at the same time', async () => {
    // Each waits for the other: they can only both finish if they run together.
    const one = await startV2(v2Command([`touch '${join(markers, 'shared-1')}'`, waitFor('shared-2')].join('\n'), { IsolationMutexName: 'shared' }));
    const two = await startV2(v2Command([`touch '${join(markers, 'shared-2')}'`, waitFor('shared-1')].join('\n'), { IsolationMutexName: 'shared' }));
    await v2.untilComplete(one);
    await v2.untilComplete(two);
    assert.deepEqual([one.last.ExitCode, two.last.ExitCode], [0, 0]);
    assert.equal(isWaiting(one) || isWaiting(two), false);
    await Promise.all([v2.complete(one.ticket), v2.complete(two.ticket)]);
  });

  it('gives up after ScriptIsolationMutexTimeout with −44', async () => {
    const a = await holder('timeout');
    const b = await startV2(full('echo never', 'timeout', { ScriptIsolationMutexTimeout: TimeSpan.fromMilliseconds(100) }));
    await v2.untilComplete(b);
    assert.equal(b.last.ExitCode, ScriptExitCodes.Timeout);
    assert.ok(hasText(b, 'Script execution timed out.'));
    assert.equal(hasText(b, 'never'), false);
    await mark('release-timeout');
    await v2.untilComplete(a);
    assert.equal(a.last.ExitCode, 0);
    await Promise.all([v2.complete(a.ticket), v2.complete(b.ticket)]);
  });

  it('cancels a script still waiting for the mutex with −43', async () => {
    const a = await holder('cancel');
    const b = await startV2(full('echo never', 'cancel'));
    await v2.pollUntil(b, isWaiting, 'the second script to wait');
    const answer = await v2.cancel(b.ticket, b.next);
    assert.deepEqual([answer.State, answer.ExitCode], [ProcessState.Pending, 0], 'a Tentacle answers with the state before the cancel');
    await v2.untilComplete(b);
    assert.equal(b.last.ExitCode, ScriptExitCodes.Canceled);
    assert.deepEqual(texts(b.logs).slice(-2), [
      'This task was canceled before it could start. Task [ServerTasks-cancel](~/app#/tasks/ServerTasks-cancel) is still running.',
      'Script execution canceled.',
    ]);
    await mark('release-cancel');
    await v2.untilComplete(a);
    await Promise.all([v2.complete(a.ticket), v2.complete(b.ticket)]);
  });
});

describe('IScriptService (V1)', () => {
  it('starts with a ticket of its own making, reports status, and Complete returns the last logs and deletes the workspace', async () => {
    const ticket = await v1.startV1(v1Command('echo v1 says hi; exit 7'));
    assert.match(ticket, /^\d{14}-42-\d+$/);
    const o = await v1.untilComplete(v1.observe(ticket));
    assert.equal(o.last.ExitCode, 7);
    assert.ok(hasText(o, 'v1 says hi'));
    assert.ok(hasText(o, 'Acquiring isolation mutex RunningScript with NoIsolation in ServerTasks-42'));
    const final = await v1.completeV1(ticket, 0);
    assert.equal(final.State, ProcessState.Complete);
    assert.equal(final.ExitCode, 7);
    assert.deepEqual(texts(final.Logs), texts(o.logs), 'CompleteScript returns the records after LastLogSequence');
    assert.equal(existsSync(workspaceOf(ticket)), false);
    // The V1 pitfall: a ticket the agent does not know looks like a success.
    const unknown = await v1.status(ticket, 0);
    assert.deepEqual([unknown.State, unknown.ExitCode, unknown.Logs], [ProcessState.Complete, 0, []]);
  });

  it('cancels a running script with exit code −1', async () => {
    const ticket = await v1.startV1(v1Command('echo started; sleep 600 & wait', { TaskId: null }));
    assert.match(ticket, /^\d{14}--\d+$/);
    const o = await v1.pollUntil(v1.observe(ticket), (x) => hasText(x, 'started'), 'the V1 script to start');
    const answer = await v1.cancel(ticket, o.next);
    assert.deepEqual([answer.State, answer.ExitCode], [ProcessState.Running, 0]);
    await v1.untilComplete(o);
    assert.deepEqual([o.last.State, o.last.ExitCode], [ProcessState.Complete, -1]);
    await v1.completeV1(ticket, 0);
  });
});

describe('IFileTransferService', () => {
  const upload = (path: string, stream: DataStream) => client.call(endpoint, { service: 'IFileTransferService', method: 'UploadFile', params: [path, stream] });
  const download = (path: string) => client.call(endpoint, { service: 'IFileTransferService', method: 'DownloadFile', params: [path] });
  const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

  it('round-trips a file, with the SHA-1 and length of what arrived', async () => {
    const length = 3 * 1024 * 1024 + 17;
    const chunks: Buffer[] = [];
    for await (const c of payload(length, 5)) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const result = decodeUploadResult(await upload('packages\\app\\app.1.0.0.zip', DataStream.fromReadable(payload(length, 5), length)));
    assert.deepEqual(result, { FullPath: join(tentacle.fileRoot, 'packages/app/app.1.0.0.zip'), Hash: sha1(body), Length: length });
    assert.equal(sha1(await readFile(result.FullPath)), sha1(body));

    const back = await download('packages/app/app.1.0.0.zip');
    assert.ok(back instanceof DataStream);
    assert.equal(back.length, length);
    assert.equal(sha1(await back.toBuffer()), sha1(body));

    // An absolute path inside the root works too, and uploading again overwrites.
    const again = decodeUploadResult(await upload(result.FullPath, DataStream.fromBuffer('smaller')));
    assert.deepEqual([again.FullPath, again.Length, again.Hash], [result.FullPath, 7, sha1(Buffer.from('smaller'))]);
    assert.equal(await readFile(result.FullPath, 'utf8'), 'smaller');
  });

  it('answers null for a file that does not exist', async () => {
    assert.equal(await download('no/such/file.txt'), null);
  });

  it("refuses paths outside the agent's home, naming the path", async () => {
    await symlink(markers, join(tentacle.fileRoot, 'escape-link'));
    const refused = async (call: Promise<unknown>, path: string): Promise<void> => {
      await assert.rejects(call, (err: unknown) => {
        assert.ok(err instanceof ServiceInvocationError, String(err));
        assert.ok(err.message.includes(`'${path}'`), err.message);
        assert.match(err.message, /outside the agent's home/);
        return true;
      });
    };
    await writeFile(join(markers, 'outside.txt'), 'outside');
    // A name of its own: /tmp is shared with whatever else runs on the machine.
    const x = `escaped-${process.pid}-${Date.now()}`;
    for (const path of [`../${x}`, '/etc/passwd', `a/../../${x}`, `..\\${x}`, join(markers, 'outside.txt'), `escape-link/${x}`, 'escape-link/outside.txt']) {
      await refused(upload(path, DataStream.fromBuffer('nope')), path);
      await refused(download(path), path);
    }
    assert.equal(existsSync(join(dirname(tentacle.home), x)), false);
    assert.equal(existsSync(join(markers, x)), false, 'nothing was written through the symbolic link');
    assert.equal(await readFile(join(markers, 'outside.txt'), 'utf8'), 'outside');
    // The connection is still usable after the refused upload's body was drained.
    assert.equal(await download('still/missing'), null);
  });
});

describe('ICapabilitiesServiceV2', () => {
  it('advertises the V1 and V2 script services and file transfer by default', async () => {
    assert.deepEqual(await capabilities(client, endpoint), ['IScriptService', 'IFileTransferService', 'IScriptServiceV2']);
  });

  it('advertises what it is told, and leaves out IScriptServiceV2 when it is disabled', async () => {
    const old = await tentacleAgent({ scriptServiceV2: false });
    assert.deepEqual(await capabilities(client, old.endpoint), ['IScriptService', 'IFileTransferService']);
    await assert.rejects(v2Calls(client, old.endpoint).status('x', 0), ServiceNotFoundError);
    const custom = await tentacleAgent({ capabilities: ['IScriptService', 'IFileTransferService', 'IScriptServiceV2Alpha'] });
    assert.deepEqual(await capabilities(client, custom.endpoint), ['IScriptService', 'IFileTransferService', 'IScriptServiceV2Alpha']);
  });

  it('has no capabilities service at all with capabilities: false (an old Tentacle)', async () => {
    // Built by hand, the way a test would embed the services in its own agent.
    const services = await createTentacleServices({ capabilities: false });
    assert.deepEqual(Object.keys(services.services).sort(), ['IFileTransferService', 'IScriptService', 'IScriptServiceV2']);
    const agent = new ListeningAgent({ certificate: ids.agent, trustedThumbprints: [ids.client.thumbprint], services: services.services });
    const address = await agent.listen();
    onCleanup(async () => {
      await agent.close();
      await services.dispose();
    });
    const ep: Endpoint = { url: address.url, thumbprint: address.thumbprint };
    await assert.rejects(capabilities(client, ep), ServiceNotFoundError);
  });
});

describe('a shell that cannot be started', () => {
  it('completes the script with −42 and says why', async () => {
    const own = await tentacleAgent({ shell: '/nonexistent/bash' });
    const calls = v2Calls(client, own.endpoint);
    const o = await calls.untilComplete(await startV2(v2Command('echo never'), calls));
    assert.equal(o.last.ExitCode, ScriptExitCodes.PowerShellInvocationError);
    const error = o.logs.find((l) => l.Source === ProcessOutputSource.StdErr);
    assert.match(error?.Text ?? '', /^An exception was thrown when invoking \/nonexistent\/bash: .*ENOENT/);
    await calls.complete(o.ticket);
  });
});

describe('disposal', () => {
  it('kills what a completed script left running (even detached from its output) on dispose', async () => {
    const own = await tentacleAgent();
    const calls = v2Calls(client, own.endpoint);
    const o = await startV2(v2Command('(setsid sleep 600 >/dev/null 2>&1 & echo "background $!")\nexit 5'), calls);
    await calls.untilComplete(o);
    assert.equal(o.last.ExitCode, 5);
    const background = Number(o.logs.find((l) => l.Text.startsWith('background '))!.Text.slice(11));
    process.kill(background, 0); // still running: a script may leave things running
    await calls.complete(o.ticket);
    await own.close();
    await eventually(() => assert.throws(() => process.kill(background, 0), { code: 'ESRCH' }), 10_000);
  });

  it('kills running scripts and removes its temporary directories; close is idempotent', async () => {
    const own = await tentacleAgent();
    const calls = v2Calls(client, own.endpoint);
    const o = await startV2(v2Command('echo "pid $$"; sleep 600 & wait'), calls);
    await calls.pollUntil(o, (x) => x.logs.some((l) => l.Text.startsWith('pid ')), 'the script to start');
    const pid = Number(o.logs.find((l) => l.Text.startsWith('pid '))!.Text.slice(4));
    const { workRoot, fileRoot } = own.tentacle;
    await own.close();
    await own.close();
    await eventually(() => groupIsGone(pid), 10_000);
    assert.equal(existsSync(workRoot), false);
    assert.equal(existsSync(fileRoot), false);
    await assert.rejects(calls.status(o.ticket), 'the agent is closed');
  });
});
