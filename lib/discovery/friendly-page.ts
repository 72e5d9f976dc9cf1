/**
 * Reading the page a Halibut listener sends to anything that does not identify as a Halibut client. Bounded in
 * size and time: the peer is unverified, and a wrong server may stream forever or say nothing at all.
 */
import type { TLSSocket } from 'node:tls';
import { withDeadline } from '../util/abort.js';

/** What the agent answered to `HELLO`. */
export interface FriendlyPage {
  /** The first line, e.g. `HTTP/1.0 200 OK` (Halibut) or `HTTP/1.1 400 Bad Request` (a web server). */
  statusLine: string;
  /** Header lines in order, as `[name, value]`. */
  headers: Array<[string, string]>;
  /** The body as text (UTF-8), cut at the size bound. */
  body: string;
  /** True when the answer was longer than the bound, or did not end before the time bound. */
  truncated: boolean;
  /** True for Halibut's shape: `HTTP/1.0 200 OK` with an HTML content type. */
  looksLikeHalibut: boolean;
}

export interface ReadPageOptions {
  maxBytes: number;
  timeoutMs: number;
}

/**
 * Writes `HELLO` and a blank line (what DiscoveryClient sends), then collects the answer until the peer closes, the
 * size bound, or the time bound. Resolves `undefined` if nothing at all came back. Never rejects: the page is
 * extra information, the certificate was the point.
 */
export function readFriendlyPage(tls: TLSSocket, options: ReadPageOptions): Promise<FriendlyPage | undefined> {
  const chunks: Buffer[] = [];
  let received = 0;
  const page = (truncated: boolean): FriendlyPage | undefined =>
    received === 0 ? undefined : parsePage(Buffer.concat(chunks).subarray(0, options.maxBytes), truncated);
  // Running out of time is not a failure here: what arrived by then is the page, marked truncated.
  const outOfTime = new Error('no complete page in time');
  return withDeadline<FriendlyPage | undefined>({ timeoutMs: options.timeoutMs, expired: () => outOfTime }, undefined, (settle) => {
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= options.maxBytes) settle.resolve(page(true));
      else if (complete(Buffer.concat(chunks))) settle.resolve(page(false));
    };
    const onEnd = (): void => settle.resolve(page(false));
    tls.on('data', onData);
    tls.once('end', onEnd);
    tls.once('close', onEnd);
    tls.once('error', onEnd);
    tls.write('HELLO\r\n\r\n');
    return () => {
      tls.off('data', onData);
      tls.off('end', onEnd);
      tls.off('close', onEnd);
      tls.off('error', onEnd);
    };
  }).catch((err: unknown) => {
    if (err !== outOfTime) throw err;
    return page(true);
  });
}

/** True once a response with a Content-Length has all of its body (Halibut adds four bytes after it; not needed). */
function complete(bytes: Buffer): boolean {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(bytes.subarray(0, headEnd).toString('latin1'))?.[1];
  return length !== undefined && bytes.length - headEnd - 4 >= Number(length);
}

function parsePage(bytes: Buffer, truncated: boolean): FriendlyPage {
  const text = bytes.toString('utf8');
  const headEnd = text.indexOf('\r\n\r\n');
  const head = headEnd < 0 ? text : text.slice(0, headEnd);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Array<[string, string]> = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const body = headEnd < 0 ? '' : text.slice(headEnd + 4).replace(/\r\n\r\n$/, '');
  const contentType = headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  return {
    statusLine: printableLine(statusLine),
    headers,
    body,
    truncated,
    looksLikeHalibut: statusLine === 'HTTP/1.0 200 OK' && contentType.startsWith('text/html'),
  };
}

/** The status line of an unverified peer goes to a terminal: keep control characters out of it. */
function printableLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = line.replace(/[\x00-\x1F\x7F]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
