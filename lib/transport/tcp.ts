/**
 * The first hop: a TCP connection to a host and port, with a deadline and cancellation.
 *
 * Dialling is a function type so that a proxy tunnel can stand in for it: TLS goes on top of whatever socket the
 * dialler returns.
 */
import { connect, type LookupFunction, type Socket } from 'node:net';
import createDebug from 'debug';
import { PhaseTimeoutError } from '../errors.js';
import { withDeadline } from '../util/abort.js';
import { ConnectError, HostNotFoundError } from './errors.js';

const debug = createDebug('halibut:transport');

export interface DialTarget {
  host: string;
  port: number;
}

export interface DialOptions {
  /** Deadline for the TCP connection, in milliseconds. */
  connectTimeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Resolves host names instead of the operating system's resolver (same contract as `net.connect`'s `lookup`). */
  lookup?: LookupFunction | undefined;
}

/** Opens a socket that carries bytes to the target (directly, or through a tunnel). */
export type Dialer = (target: DialTarget, options: DialOptions) => Promise<Socket>;

/** TCP keep-alive probes start after this much idle time, as Halibut's default. */
export const KEEP_ALIVE_INITIAL_DELAY_MS = 15_000;

/** Connects directly over TCP. */
export const dialTcp: Dialer = (target, options) => {
  const where = `${target.host}:${target.port}`;
  return withDeadline<Socket>(
    { timeoutMs: options.connectTimeoutMs, expired: () => new PhaseTimeoutError('connect', options.connectTimeoutMs, `could not connect to ${where}`) },
    options.signal,
    (settle) => {
      const socket = connect({ host: target.host, port: target.port, ...(options.lookup === undefined ? {} : { lookup: options.lookup }) });
      const onConnect = (): void => {
        debug('TCP connected to %s', where);
        // tls.connect ignores keepAlive/noDelay options on Node 20, so set them on the socket itself. Nagle is off:
        // control lines and data-stream headers are small writes that must not wait for an ACK.
        socket.setKeepAlive(true, KEEP_ALIVE_INITIAL_DELAY_MS);
        socket.setNoDelay(true);
        settle.resolve(socket);
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        debug('TCP connect to %s failed: %s', where, err.code ?? err.message);
        settle.reject(toConnectError(err, where));
      };
      socket.once('connect', onConnect);
      socket.once('error', onError);
      return (failure) => {
        socket.off('connect', onConnect);
        socket.off('error', onError);
        if (failure !== undefined) socket.destroy();
      };
    },
  );
};

export function toConnectError(err: NodeJS.ErrnoException, where: string): ConnectError {
  const code = err.code;
  if (code === 'ENOTFOUND') return new HostNotFoundError(`The host name in ${where} could not be resolved`, code, { cause: err });
  const reason: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused (nothing listens on that port, or a firewall rejects it)',
    ECONNRESET: 'the connection was reset',
    EHOSTUNREACH: 'the host is unreachable',
    ENETUNREACH: 'the network is unreachable',
    ETIMEDOUT: 'the connection attempt timed out',
    EAI_AGAIN: 'name resolution failed temporarily',
  };
  return new ConnectError(`Could not connect to ${where}: ${(code !== undefined && reason[code]) || err.message}`, code, { cause: err });
}
