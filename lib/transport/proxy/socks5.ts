/**
 * A tunnel through a SOCKS5 proxy (RFC 1928), with username/password authentication (RFC 1929). The agent's host
 * name is passed to the proxy unresolved, so it is resolved where the proxy is (what curl calls socks5h).
 */
import { isIP, type Socket } from 'node:net';
import { PhaseTimeoutError } from '../../errors.js';
import { isAborted, withDeadline } from '../../util/abort.js';
import { ProxyAuthenticationError, ProxyError, ProxyProtocolError, ProxyRefusedError } from '../errors.js';
import { dialTcp, toConnectError, type DialOptions, type DialTarget } from '../tcp.js';
import { authority } from './http-connect.js';
import type { ResolvedProxy } from './proxy-settings.js';

const REPLIES: Record<number, string> = {
  1: 'general failure',
  2: 'connection not allowed by its rules',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused by the agent host',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

export async function connectViaSocks5(proxy: ResolvedProxy, target: DialTarget, options: DialOptions): Promise<Socket> {
  const where = authority(target);
  let socket: Socket;
  try {
    socket = await dialTcp({ host: proxy.host, port: proxy.port }, options);
  } catch (err) {
    if (err instanceof PhaseTimeoutError || !(err instanceof Error) || isAborted(options.signal)) throw err;
    throw new ProxyError(`Could not reach SOCKS5 proxy ${proxy.display}: ${err.message}`, proxy.display, undefined, { cause: err });
  }
  const reader = new ExactReader(socket, proxy, options);
  // Between reads a write can fail (the proxy hung up); the next read reports it, so the event itself is absorbed.
  const absorb = (): void => undefined;
  socket.on('error', absorb);
  try {
    const methods = proxy.username === undefined ? [0x00] : [0x00, 0x02];
    socket.write(Buffer.from([0x05, methods.length, ...methods]));
    const [version, method] = await reader.read(2);
    if (version !== 0x05) throw new ProxyProtocolError(`${proxy.display} is not a SOCKS5 proxy`, proxy.display);
    if (method === 0xff) {
      throw new ProxyAuthenticationError(
        `SOCKS5 proxy ${proxy.display} accepts none of our authentication methods${proxy.username === undefined ? ' (it probably wants a user name and password)' : ''}`,
        proxy.display,
      );
    }
    if (method === 0x02) {
      if (proxy.username === undefined) throw new ProxyProtocolError(`SOCKS5 proxy ${proxy.display} chose a method we did not offer`, proxy.display);
      const user = Buffer.from(proxy.username, 'utf8');
      const pass = Buffer.from(proxy.password ?? '', 'utf8');
      if (user.length > 255 || pass.length > 255) throw new TypeError('SOCKS5 user names and passwords are limited to 255 bytes');
      socket.write(Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]));
      const [, status] = await reader.read(2);
      if (status !== 0x00) throw new ProxyAuthenticationError(`SOCKS5 proxy ${proxy.display} refused the credentials given`, proxy.display);
    } else if (method !== 0x00) {
      throw new ProxyProtocolError(`SOCKS5 proxy ${proxy.display} chose a method we did not offer`, proxy.display);
    }

    socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), encodeAddress(target.host), Buffer.from([target.port >> 8, target.port & 0xff])]));
    const [v, reply, , addressType] = await reader.read(4);
    if (v !== 0x05) throw new ProxyProtocolError(`SOCKS5 proxy ${proxy.display} sent a malformed reply`, proxy.display);
    if (reply !== 0x00) {
      throw new ProxyRefusedError(
        `SOCKS5 proxy ${proxy.display} could not connect to ${where}: ${REPLIES[reply ?? 1] ?? `error ${reply}`}`,
        proxy.display,
      );
    }
    const addressLength = addressType === 0x01 ? 4 : addressType === 0x04 ? 16 : addressType === 0x03 ? (await reader.read(1))[0]! : -1;
    if (addressLength < 0) throw new ProxyProtocolError(`SOCKS5 proxy ${proxy.display} sent an unknown address type`, proxy.display);
    await reader.read(addressLength + 2);
    // The tunnel must start clean: the proxy may not speak for the agent before TLS does.
    if (reader.hasLeftover) throw new ProxyProtocolError(`SOCKS5 proxy ${proxy.display} sent unexpected bytes after its reply`, proxy.display);
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  } finally {
    socket.off('error', absorb);
  }
}

function encodeAddress(host: string): Buffer {
  const family = isIP(host);
  if (family === 4) return Buffer.from([0x01, ...host.split('.').map(Number)]);
  if (family === 6) {
    const expanded = new URL(`http://[${host}]/`).hostname.slice(1, -1);
    const [head, tail] = expanded.includes('::') ? (expanded.split('::') as [string, string]) : [expanded, ''];
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const groups = expanded.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    return Buffer.from([0x04, ...groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff])]);
  }
  const name = Buffer.from(host, 'utf8');
  if (name.length > 255) throw new TypeError('Host name too long for SOCKS5');
  return Buffer.concat([Buffer.from([0x03, name.length]), name]);
}

/** Reads exact byte counts from a socket during the negotiation, within the connect deadline. */
class ExactReader {
  readonly #socket: Socket;
  readonly #proxy: ResolvedProxy;
  readonly #deadline: number;
  readonly #options: DialOptions;
  #buffer = Buffer.alloc(0);

  constructor(socket: Socket, proxy: ResolvedProxy, options: DialOptions) {
    this.#socket = socket;
    this.#proxy = proxy;
    this.#options = options;
    this.#deadline = Date.now() + options.connectTimeoutMs;
  }

  read(n: number): Promise<Buffer> {
    const { connectTimeoutMs, signal } = this.#options;
    const display = this.#proxy.display;
    const expired = (): Error => new PhaseTimeoutError('proxy', connectTimeoutMs, `SOCKS5 proxy ${display} did not answer`);
    return withDeadline<Buffer>({ timeoutMs: this.#deadline - Date.now(), expired }, signal, (settle) => {
      const take = (): void => {
        if (this.#buffer.length < n) return;
        const out = this.#buffer.subarray(0, n);
        this.#buffer = this.#buffer.subarray(n);
        settle.resolve(out);
      };
      const onData = (chunk: Buffer): void => {
        this.#buffer = Buffer.concat([this.#buffer, chunk]);
        take();
      };
      const onEnd = (): void => settle.reject(new ProxyProtocolError(`SOCKS5 proxy ${display} closed the connection during negotiation`, display));
      const onError = (err: NodeJS.ErrnoException): void => settle.reject(toConnectError(err, display));
      if (this.#buffer.length >= n) {
        take();
        return;
      }
      this.#socket.on('data', onData).once('end', onEnd).once('close', onEnd).once('error', onError);
      this.#socket.resume();
      return () => {
        this.#socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
        this.#socket.pause();
      };
    });
  }

  get hasLeftover(): boolean {
    return this.#buffer.length > 0;
  }
}
