// Real proxy servers for the tests: tinyproxy (HTTP CONNECT with Basic authentication) and microsocks (SOCKS5),
// both from Debian and installed by .ci/run, started on 127.0.0.1 with a free port and a configuration written
// here; and a scripted in-process HTTP proxy for the misbehaviours a real one will not produce on demand.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup } from './cleanup.js';
import { freePort } from './ports.js';
import { eventually } from './eventually.js';

/** Why a proxy binary cannot be used here, or undefined. Under CI a missing proxy is a failure, not a skip. */
export function proxyUnavailable(binary: string): string | undefined {
  if (spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0) return undefined;
  if (process.env['CI'] === 'true') throw new Error(`${binary} is not installed; .ci/run must install it`);
  return `${binary} is not installed (apt-get install ${binary})`;
}


async function run(command: string, args: string[], port: number): Promise<void> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  );
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`${command} exited: ${stderr}`);
    await new Promise<void>((resolve, reject) => {
      const s: Socket = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve();
      });
      s.once('error', reject);
    });
  }, 10_000);
}

/** tinyproxy on 127.0.0.1 with Basic authentication, allowing CONNECT only to `connectPorts`. */
export async function startTinyproxy(options: { user: string; password: string; connectPorts: number[] }): Promise<{ port: number }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'halibut-tinyproxy-'));
  const config = join(dir, 'tinyproxy.conf');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      'MaxClients 50',
      'Allow 127.0.0.1',
      'LogLevel Error',
      `BasicAuth ${options.user} ${options.password}`,
      ...options.connectPorts.map((p) => `ConnectPort ${p}`),
    ].join('\n') + '\n',
  );
  await run('tinyproxy', ['-d', '-c', config], port);
  return { port };
}

/** microsocks (SOCKS5) on 127.0.0.1, with or without a user name and password. */
export async function startMicrosocks(credentials?: { user: string; password: string }): Promise<{ port: number }> {
  const port = await freePort();
  const auth = credentials === undefined ? [] : ['-u', credentials.user, '-P', credentials.password];
  await run('microsocks', ['-i', '127.0.0.1', '-p', String(port), ...auth], port);
  return { port };
}

export type ScriptedBehaviour = 'forward' | 'forward-no-reason' | 'hang' | 'garbage' | 'close' | 'ok-then-close' | 'status';

export interface ScriptedProxy {
  port: number;
  /** Request heads received (request line and headers), in order. */
  requests: string[];
}

/** An in-process HTTP proxy that does what it is told with each CONNECT. */
export async function startScriptedProxy(behaviour: ScriptedBehaviour, statusLine = 'HTTP/1.1 502 Bad Gateway'): Promise<ScriptedProxy> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const text = head.subarray(0, end).toString('latin1');
      requests.push(text);
      const target = /^CONNECT (\S+) HTTP/.exec(text)?.[1] ?? '';
      const [, host, port] = /^\[?(.+?)\]?:(\d+)$/.exec(target) ?? [];
      switch (behaviour) {
        case 'hang':
          client.resume();
          return;
        case 'garbage':
          client.end('SSH-2.0-OpenSSH_9.2 definitely not http\r\n\r\n');
          return;
        case 'close':
          client.destroy();
          return;
        case 'ok-then-close':
          client.end('HTTP/1.1 200 Connection established\r\n\r\n');
          return;
        case 'status':
          client.end(`${statusLine}\r\nProxy-Authenticate: Basic realm="corp"\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n`);
          return;
        default: {
          const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
            client.write(behaviour === 'forward-no-reason' ? 'HTTP/1.1 200\r\n\r\n' : 'HTTP/1.1 200 Connection established\r\n\r\n');
            upstream.pipe(client).pipe(upstream);
          });
          sockets.add(upstream);
          upstream.on('close', () => {
            sockets.delete(upstream);
            client.destroy();
          });
          upstream.on('error', () => client.destroy());
          client.on('close', () => upstream.destroy());
        }
      }
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as AddressInfo).port, requests };
}
