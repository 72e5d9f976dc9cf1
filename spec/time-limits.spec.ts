// Time limits and aborts of whole operations, over real TLS against the embedded agent: a call's timeoutMs (also
// through a typed proxy), AbortSignal.timeout(), and uploads and downloads limited or aborted mid-stream. Every stop
// is a CallTimeoutError or a CallAbortedError that says whether the request had started.
//
// Each stalled agent method lets go after a few seconds (a generous upper bound, never reached when the limit works),
// so that code ignoring the limit finishes the operation and the assertion fails instead of the test hanging.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { CallAbortedError, CallTimeoutError, DataStream, HalibutClient, PhaseTimeoutError, TentacleClient, encodeUploadResult } from '../lib/index.js';
import { startAgent } from './support/agent.js';
import { closeEverythingAfterwards, onCleanup } from './support/cleanup.js';
import { identities } from './support/identities.js';

closeEverythingAfterwards();
const ids = await identities();

/** Longer than any limit under test; a stalled method gives up after it. */
const SAFETY_MS = 8000;

/** A promise that resolves after `ms`, on a timer that does not keep the process alive. */
function after(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** An agent whose methods stall: `Slow` answers late, `UploadFile` never reads, `DownloadFile` sends a first chunk then stalls. */
async function stallingAgent(): Promise<Awaited<ReturnType<typeof startAgent>> & { started: () => number }> {
  let started = 0;
  const BODY = 1024 * 1024;
  const harness = await startAgent({
    services: {
      IEchoService: {
        SayHello: (name: string) => `Hello, ${name}!`,
        Slow: async () => {
          started++;
          await after(SAFETY_MS);
          return 'late';
        },
      },
      IFileTransferService: {
        UploadFile: async (_path: string, stream: DataStream) => {
          started++;
          await after(SAFETY_MS);
          await stream.discard();
          return encodeUploadResult({ FullPath: '/x', Hash: '0'.repeat(40), Length: stream.length });
        },
        DownloadFile: () => {
          started++;
          return DataStream.fromReadable(() => {
            let sent = false;
            return new Readable({
              read() {
                if (sent) return;
                sent = true;
                this.push(Buffer.alloc(64 * 1024, 1));
                void after(SAFETY_MS).then(() => {
                  this.push(Buffer.alloc(BODY - 64 * 1024, 2));
                  this.push(null);
                });
              },
            });
          }, BODY);
        },
      },
    },
  });
  // A pooled connection first, so that a limit of a second is spent on the call itself, however busy the machine.
  assert.equal(await harness.client.call(harness.endpoint, { service: 'IEchoService', method: 'SayHello', params: ['warm'] }), 'Hello, warm!');
  return { ...harness, started: () => started };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'time-limits-spec-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('a call’s time limit', () => {
  it('timeoutMs ends a call whose request had started: CallTimeoutError, phase call, the agent may have run it', async () => {
    const { client, endpoint, started } = await stallingAgent();
    const begun = performance.now();
    await assert.rejects(client.call(endpoint, { service: 'IEchoService', method: 'Slow' }, { timeoutMs: 1000 }), (err: unknown) => {
      assert.ok(err instanceof CallTimeoutError, String(err));
      assert.ok(err instanceof PhaseTimeoutError);
      assert.equal(err.code, 'ERR_TIMEOUT');
      assert.equal(err.phase, 'call');
      assert.equal(err.timeoutMs, 1000);
      assert.equal(err.requestMayHaveRun, true);
      assert.equal(err.connectionState, 'unknown');
      assert.equal(err.attempts, 1);
      assert.match(err.message, /may still be running it/);
      return true;
    });
    assert.ok(performance.now() - begun < SAFETY_MS / 2, 'the limit, not the agent, ended the call');
    assert.equal(started(), 1);
  });

  it('timeoutMs ends a call still connecting: the request never reached the agent', async () => {
    // Accepts TCP and then says nothing: the TLS handshake waits far longer than the call may.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s.on('error', () => undefined)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const client = new HalibutClient({ certificate: ids.client, handshakeTimeoutMs: SAFETY_MS, retry: false });
    onCleanup(() => client.close());
    const endpoint = { url: `https://127.0.0.1:${port}/`, thumbprint: ids.agent.thumbprint };
    await assert.rejects(client.call(endpoint, { service: 'IEchoService', method: 'SayHello' }, { timeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof CallTimeoutError, String(err));
      assert.equal(err.phase, 'call');
      assert.equal(err.requestMayHaveRun, false);
      assert.equal(err.connectionState, 'connecting');
      assert.match(err.message, /never reached the agent/);
      return true;
    });
    assert.deepEqual(client.stats(endpoint), { open: 0, idle: 0, inUse: 0, connecting: 0, waiting: 0 });
  });

  it('a typed service proxy takes timeoutMs for each of its calls', async () => {
    const { client, endpoint } = await stallingAgent();
    const echo = client.service<{ Slow(): string }>(endpoint, 'IEchoService', { timeoutMs: 1000 });
    await assert.rejects(echo.Slow(), (err: unknown) => err instanceof CallTimeoutError && err.timeoutMs === 1000 && err.requestMayHaveRun);
  });

  it('a signal from AbortSignal.timeout() gives a CallTimeoutError whose cause is the signal’s reason', async () => {
    const { client, endpoint } = await stallingAgent();
    const signal = AbortSignal.timeout(1000);
    await assert.rejects(client.call(endpoint, { service: 'IEchoService', method: 'Slow' }, { signal }), (err: unknown) => {
      assert.ok(err instanceof CallTimeoutError, String(err));
      assert.equal(err.phase, 'call');
      assert.equal(err.cause, signal.reason);
      assert.equal((err.cause as DOMException).name, 'TimeoutError');
      assert.equal(err.requestMayHaveRun, true);
      return true;
    });
  });

  it('rejects a timeoutMs that is not a positive number', async () => {
    const { client, endpoint } = await stallingAgent();
    for (const timeoutMs of [0, -1, Number.NaN, Infinity]) {
      await assert.rejects(client.call(endpoint, { service: 'IEchoService', method: 'Slow' }, { timeoutMs }), TypeError);
    }
  });
});

describe('file transfer time limits and aborts', () => {
  it('uploadFile takes timeoutMs', async () => {
    const { client, endpoint } = await stallingAgent();
    const tentacle = new TentacleClient(client);
    await assert.rejects(tentacle.uploadFile(endpoint, 'x.bin', Buffer.alloc(1024), { timeoutMs: 1000 }), (err: unknown) => {
      assert.ok(err instanceof CallTimeoutError, String(err));
      assert.equal(err.timeoutMs, 1000);
      assert.equal(err.requestMayHaveRun, true);
      return true;
    });
  });

  it('downloadFile takes timeoutMs, covering the body, and leaves no partial file', async () => {
    const { client, endpoint } = await stallingAgent();
    const tentacle = new TentacleClient(client);
    const dir = tempDir();
    const local = join(dir, 'file.bin');
    let received = 0;
    const options = { timeoutMs: 1500, onProgress: (p: { bytes: number }) => (received = p.bytes) };
    await assert.rejects(tentacle.downloadFile(endpoint, 'file.bin', local, options), (err: unknown) => {
      assert.ok(err instanceof CallTimeoutError, String(err));
      assert.equal(err.phase, 'call');
      assert.equal(err.timeoutMs, 1500);
      assert.equal(err.requestMayHaveRun, true);
      return true;
    });
    assert.ok(received > 0, 'the limit ran out while the body was arriving');
    assert.equal(existsSync(local), false);
    assert.deepEqual(readdirSync(dir), []);
  });

  it('aborting a download mid-stream gives CallAbortedError, not Node’s AbortError', async () => {
    const { client, endpoint } = await stallingAgent();
    const tentacle = new TentacleClient(client);
    const controller = new AbortController();
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const download = tentacle.downloadFile(endpoint, 'file.bin', sink, { signal: controller.signal, onProgress: () => controller.abort(new Error('enough')) });
    await assert.rejects(download, (err: unknown) => {
      assert.ok(err instanceof CallAbortedError, String(err));
      assert.equal(err.code, 'ERR_ABORTED');
      assert.equal(err.requestMayHaveRun, true);
      assert.equal((err.cause as Error).message, 'enough');
      return true;
    });
  });

  it('a download whose signal is AbortSignal.timeout() ends mid-stream with CallTimeoutError', async () => {
    const { client, endpoint } = await stallingAgent();
    const tentacle = new TentacleClient(client);
    const signal = AbortSignal.timeout(1500);
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await assert.rejects(tentacle.downloadFile(endpoint, 'file.bin', sink, { signal }), (err: unknown) => {
      assert.ok(err instanceof CallTimeoutError, String(err));
      assert.equal(err.cause, signal.reason);
      return true;
    });
  });

  it('aborting an upload gives CallAbortedError too', async () => {
    const { agent, client, endpoint } = await stallingAgent();
    const tentacle = new TentacleClient(client);
    const controller = new AbortController();
    agent.once('request', () => setImmediate(() => controller.abort()));
    const upload = tentacle.uploadFile(endpoint, 'x.bin', Buffer.alloc(1024), { signal: controller.signal });
    await assert.rejects(upload, (err: unknown) => err instanceof CallAbortedError && err.requestMayHaveRun);
  });
});
