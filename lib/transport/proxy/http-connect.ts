/**
 * A tunnel through an HTTP proxy with CONNECT. Node's own HTTP parser reads the proxy's answer, so status lines
 * without a reason phrase, folded headers and malformed replies are handled the way HTTP says.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { PhaseTimeoutError } from '../../errors.js';
import { withDeadline } from '../../util/abort.js';
import { ProxyAuthenticationError, ProxyError, ProxyProtocolError, ProxyRefusedError } from '../errors.js';
import { KEEP_ALIVE_INITIAL_DELAY_MS, type DialOptions, type DialTarget } from '../tcp.js';
import type { ResolvedProxy } from './proxy-settings.js';
import { credentialScrubber } from './scrub-credentials.js';

export interface HttpProxyOptions extends DialOptions {
  /** Extra CA certificates to trust for an `https:` proxy (its certificate is verified normally, unlike the agent's). */
  proxyCa?: string | Buffer | Array<string | Buffer> | undefined;
}

export function authority(target: DialTarget): string {
  return isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

export function connectViaHttpProxy(proxy: ResolvedProxy, target: DialTarget, options: HttpProxyOptions): Promise<Socket> {
  const where = authority(target);
  const expired = (): Error => new PhaseTimeoutError('proxy', options.connectTimeoutMs, `proxy ${proxy.display} did not open a tunnel to ${where}`);
  return withDeadline<Socket>({ timeoutMs: options.connectTimeoutMs, expired }, options.signal, (settle) => {
    const headers: Record<string, string> = { Host: where };
    if (proxy.username !== undefined) {
      const credentials = Buffer.from(`${proxy.username}:${proxy.password ?? ''}`, 'utf8').toString('base64');
      headers['Proxy-Authorization'] = `Basic ${credentials}`;
    }
    const common = { host: proxy.host, port: proxy.port, method: 'CONNECT', path: where, headers, agent: false, setHost: false, ...(options.lookup === undefined ? {} : { lookup: options.lookup }) } as const;
    const req =
      proxy.kind === 'https'
        ? httpsRequest({ ...common, ...(isIP(proxy.host) === 0 ? { servername: proxy.host } : {}), ...(options.proxyCa === undefined ? {} : { ca: options.proxyCa }) })
        : httpRequest(common);
    // The socket the proxy answered on: handed out on success, destroyed with the request on any failure.
    let answered: Socket | undefined;
    req.once('connect', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      answered = socket;
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        settle.reject(statusError(proxy, where, res, proxy.username !== undefined));
      } else if (head.length > 0) {
        settle.reject(new ProxyProtocolError(`Proxy ${proxy.display} sent data before the tunnel to ${where} was used`, proxy.display, status));
      } else {
        socket.setNoDelay(true);
        socket.setKeepAlive(true, KEEP_ALIVE_INITIAL_DELAY_MS);
        settle.resolve(socket);
      }
    });
    req.once('error', (err: NodeJS.ErrnoException) => settle.reject(transportError(proxy, where, err)));
    req.end();
    return (failure) => {
      if (failure === undefined) return;
      req.destroy();
      answered?.destroy();
    };
  });
}

function statusError(proxy: ResolvedProxy, where: string, res: IncomingMessage, hadCredentials: boolean): ProxyError {
  const status = res.statusCode ?? 0;
  // The status text and headers are the proxy's words: a proxy that echoes our Proxy-Authorization must not get the
  // credential into the error (and from there into events and logs).
  const scrub = credentialScrubber(proxy);
  const line = `${status}${res.statusMessage ? ` ${scrub(res.statusMessage)}` : ''}`;
  // 407 is the proxy's own "who are you"; some proxies (tinyproxy among them) answer 401 instead.
  if (status === 407 || status === 401) {
    // Raw headers, because Node joins repeated Proxy-Authenticate headers with commas that also separate parameters.
    const schemes: string[] = [];
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
      if (res.rawHeaders[i]!.toLowerCase() === 'proxy-authenticate') {
        const scheme = res.rawHeaders[i + 1]!.trim().split(/\s+/)[0];
        if (scheme !== undefined && scheme !== '') schemes.push(scrub(scheme));
      }
    }
    const err = new ProxyAuthenticationError(
      `Proxy ${proxy.display} ${hadCredentials ? 'refused the credentials given' : 'requires authentication'} (${line})` +
        (schemes.length > 0 ? `; it offers ${schemes.join(', ')}` : ''),
      proxy.display,
      status,
    );
    err.schemes = schemes;
    return err;
  }
  if (status === 403 || status === 405) {
    return new ProxyRefusedError(`Proxy ${proxy.display} refused to open a tunnel to ${where} (${line})`, proxy.display, status);
  }
  if (status === 502 || status === 503 || status === 504) {
    return new ProxyRefusedError(`Proxy ${proxy.display} could not reach the agent at ${where} (${line})`, proxy.display, status);
  }
  return new ProxyError(`Proxy ${proxy.display} answered CONNECT ${where} with ${line}`, proxy.display, status);
}

function transportError(proxy: ResolvedProxy, where: string, err: NodeJS.ErrnoException): Error {
  if (err instanceof PhaseTimeoutError) return err;
  const code = err.code ?? '';
  // Node's parse errors carry the proxy's raw bytes (rawPacket), which may echo our credential: the cause kept is a
  // scrubbed copy with the message and code only.
  const scrub = credentialScrubber(proxy);
  const cause = Object.assign(new Error(scrub(err.message)), code === '' ? {} : { code });
  if (code.startsWith('HPE_')) {
    return new ProxyProtocolError(`Proxy ${proxy.display} answered CONNECT ${where} with something that is not HTTP (${code})`, proxy.display, undefined, { cause });
  }
  if (code === 'ECONNRESET' || err.message === 'socket hang up') {
    return new ProxyProtocolError(`Proxy ${proxy.display} closed the connection before answering CONNECT ${where}`, proxy.display, undefined, { cause });
  }
  return new ProxyError(`Could not reach proxy ${proxy.display}: ${code || scrub(err.message)}`, proxy.display, undefined, { cause });
}
