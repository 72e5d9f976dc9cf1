/**
 * One connection to a listening agent, from the caller's side: identification, then request/response exchanges,
 * NEXT/PROCEED before each reuse, END when done. One call at a time: Halibut has no multiplexing.
 */
import type { TLSSocket } from 'node:tls';
import type { Phase } from '../errors.js';
import { ByteReader, readDeadline, type ReadDeadline } from './byte-reader.js';
import { writeCompressedMessage, readCompressedMessage } from './compressed-message.js';
import { END, MX_CLIENT, MX_LINE, NEXT, printable, readControlLine, readNonEmptyControlLine, writeAll, ControlLineError } from './control-lines.js';
import { IncomingStreams } from './data-stream-wire.js';
import { writeDataStreams } from './data-stream-wire.js';
import { ticketsSettled } from '../transport/session-tickets.js';
import { RateFloor, type TransferRateLimit } from './rate-floor.js';
import { ConnectionClosedError, AgentRejectedClientError, NotHalibutPeerError, ProtocolError } from './errors.js';
import { bindStreams, decodeMessageInSlices, encodeRequest, type RequestMessage, type ResponseMessage } from './message-codec.js';

export interface ConnectionTimeouts {
  /** Waiting for `MX-SERVER` after we identify. */
  identificationMs: number;
  /** NEXT/PROCEED and END. */
  heartbeatMs: number;
  /** Waiting for the first byte of a response: as long as the longest method may run. */
  responseMs: number;
  /** Any other read that makes no progress (rest of a response, data streams). */
  readMs: number;
}

export interface ConnectionOptions {
  /** The endpoint URL, for messages. */
  endpoint: string;
  /** Our certificate's thumbprint, to tell the user what the agent must trust. */
  clientThumbprint: string;
  timeouts: ConnectionTimeouts;
  maxMessageBytes: number;
  maxDepth: number;
  /** Most elements in one response, at every depth. Default 2 000 000. */
  maxElements?: number | undefined;
  /** Most memory one decoded response may take, as estimated while it is decoded. Default 64 MiB. */
  maxDecodedBytes?: number | undefined;
  compressionLevel?: number | undefined;
  /** The floor under the rest of a response and each data stream, either way; none when undefined. */
  minTransferRate?: TransferRateLimit | undefined;
}

export interface Exchange {
  response: ResponseMessage;
  /** The response's data streams; `settled` resolves when they have all been read. */
  incoming: IncomingStreams;
}

let nextConnectionId = 1;

/** How long an agent has, after END, to close its side before the socket is destroyed. Halibut closes at once. */
export const END_GRACE_MS = 2000;

export class ClientConnection {
  /** Unique within the process, for logs and events. */
  readonly id = nextConnectionId++;
  readonly #socket: TLSSocket;
  readonly #reader: ByteReader;
  readonly #options: ConnectionOptions;
  #closed = false;
  #identified = false;

  constructor(socket: TLSSocket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#reader = new ByteReader(socket);
    socket.on('close', () => {
      this.#closed = true;
    });
    // Errors surface through the reader and writes; this listener only keeps an 'error' event from being unhandled.
    socket.on('error', () => undefined);
  }

  /** True once the socket is gone (closed by either side or destroyed). */
  get closed(): boolean {
    return this.#closed || this.#socket.destroyed;
  }

  /** Calls `listener` once when the socket closes, whichever side closed it (the pool drops an idle connection then). */
  onClose(listener: () => void): void {
    this.#socket.once('close', listener);
  }

  get socket(): TLSSocket {
    return this.#socket;
  }

  /**
   * A phase's read deadline: `timeoutMs` without progress, and for the short control exchanges (identification,
   * NEXT/PROCEED) the same as a limit on the whole phase, so a peer that drips bytes cannot hold it open.
   */
  #deadline(phase: Phase, timeoutMs: number, whole = false, rate?: RateFloor): ReadDeadline {
    return readDeadline(phase, timeoutMs, whole ? performance.now() + timeoutMs : undefined, rate);
  }

  /** Sends `MX` and our identity, then waits for `MX-SERVER` and the blank line after it. */
  async identify(): Promise<void> {
    const { endpoint, timeouts } = this.#options;
    const deadline = this.#deadline('identification', timeouts.identificationMs, true);
    // Under TLS 1.3, speak only once the session tickets are in, so that our first segment acknowledges them and a
    // listener with Nagle on answers at once (lib/transport/session-tickets.ts). The wait ends early if the socket
    // closes; then the read below reports why, as it would have.
    await ticketsSettled(this.#socket);
    let line: string | null;
    try {
      // The writes sit inside the try: a listener that turns us away may close before our identity is out, and a
      // write into that close (EPIPE, a reset) is the same rejection as a close seen by the read.
      if (!this.closed) {
        await writeAll(this.#socket, MX_LINE, deadline);
        await writeAll(this.#socket, MX_CLIENT, deadline);
      }
      line = await readControlLine(this.#reader, deadline, 1024);
    } catch (err) {
      if (err instanceof ControlLineError) {
        throw new NotHalibutPeerError(`The peer at ${endpoint} is not a Halibut service: it sent ${printable(err.received)}`, err.received);
      }
      // A close or a reset right after we identified is how a Halibut listener turns away a certificate it does not trust.
      if (err instanceof ConnectionClosedError) throw this.#rejected(err);
      throw err;
    }
    if (line === null) throw this.#rejected();
    if (!line.startsWith('MX-')) {
      throw new NotHalibutPeerError(
        `The peer at ${endpoint} is not a Halibut service: it answered ${printable(line)}${line.startsWith('HTTP/') ? ' (an HTTPS server, perhaps a TLS-terminating proxy or the wrong port)' : ''}`,
        line,
      );
    }
    const identity = line.split(' ').filter((p) => p.length > 0)[0];
    if (identity !== 'MX-SERVER') {
      throw new ProtocolError(`Expected the peer at ${endpoint} to identify as a server (MX-SERVER), but it sent ${printable(line)}`);
    }
    const blank = await readControlLine(this.#reader, deadline, 1024);
    if (blank !== '') throw new ProtocolError(`Expected a blank line after the identity of ${endpoint}, got ${blank === null ? 'end of stream' : printable(blank)}`);
    this.#identified = true;
  }

  #rejected(cause?: Error): AgentRejectedClientError {
    const { endpoint, clientThumbprint } = this.#options;
    const err = new AgentRejectedClientError(
      `The agent at ${endpoint} closed the connection after we identified. It probably does not trust our certificate: ` +
        `add thumbprint ${clientThumbprint} to its trusted list (for a Tentacle: 'Tentacle configure --trust ${clientThumbprint}').`,
      clientThumbprint,
    );
    if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, enumerable: false });
    return err;
  }

  /** Checks a reused connection: NEXT must be answered by PROCEED within the heartbeat timeout. */
  async heartbeat(): Promise<void> {
    const deadline = this.#deadline('heartbeat', this.#options.timeouts.heartbeatMs, true);
    await writeAll(this.#socket, NEXT, deadline);
    const line = await readNonEmptyControlLine(this.#reader, deadline);
    if (line === null) throw new ConnectionClosedError(`The agent at ${this.#options.endpoint} closed the pooled connection`);
    if (line !== 'PROCEED') throw new ProtocolError(`Expected PROCEED from ${this.#options.endpoint}, got ${printable(line)}`);
  }

  /**
   * Sends a request (and its data streams) and reads the response. The response's data streams stay on the
   * connection until the caller reads them.
   */
  async exchange(request: RequestMessage, onRequestStarted?: () => void): Promise<Exchange> {
    if (!this.#identified) throw new ProtocolError('exchange() before identify()');
    const { bson, streams } = encodeRequest(request);
    onRequestStarted?.();
    const { timeouts, endpoint, maxMessageBytes, maxDepth, maxElements, maxDecodedBytes, minTransferRate } = this.#options;
    const write = this.#deadline('write', timeouts.readMs, false, RateFloor.of(minTransferRate, 'write'));
    await writeCompressedMessage(this.#socket, bson, this.#options.compressionLevel, write);
    if (streams.length > 0) await writeDataStreams(this.#socket, streams, write, endpoint);
    // After the response's first byte (which waits for the method to run) the body and its data streams are held
    // to the rate floor; the first byte has its own deadline.
    const read = this.#deadline('read', timeouts.readMs, false, RateFloor.of(minTransferRate, 'read'));
    const reply = await readCompressedMessage(this.#reader, {
      maxMessageBytes,
      firstByte: this.#deadline('response', timeouts.responseMs),
      read,
    });
    if (reply === null) {
      throw new ConnectionClosedError(
        `The agent at ${endpoint} closed the connection without answering ${request.service}.${request.method} ` +
          '(a Halibut service does this when it cannot read the request, e.g. an unknown $type)',
      );
    }
    const decoded = await decodeMessageInSlices(reply, { maxDepth, maxElements, maxDecodedBytes });
    if (decoded.kind !== 'response') throw new ProtocolError(`The agent at ${endpoint} sent a request where a response was expected`);
    // Halibut services echo the request id. A response without it (empty, missing, not a string) or with another's
    // is not the answer to this call: nothing on this connection can be trusted any more, so it is not pooled again.
    if (decoded.message.id !== request.id) {
      const { id } = decoded.message;
      throw new ProtocolError(
        id === ''
          ? `The agent at ${endpoint} answered without our call's id (empty or missing; expected ${printable(request.id)})`
          : `The agent at ${endpoint} answered a different call (${printable(id)}) than the one sent (${printable(request.id)})`,
      );
    }
    const incoming = new IncomingStreams(this.#reader, decoded.streams, read, endpoint);
    bindStreams(decoded, incoming.streams);
    return { response: decoded.message, incoming };
  }

  /**
   * Says END (best effort) and closes. The agent is given a short grace to read it and close its side
   * ({@link END_GRACE_MS}, or the heartbeat timeout if shorter); one that ignores END, or a write stuck behind a
   * renegotiation that never completes, is cut off then rather than holding the socket, and so the process, open.
   */
  async end(): Promise<void> {
    if (this.closed) return;
    const socket = this.#socket;
    // The timer goes with the socket: nothing outlives the connection.
    const timer = setTimeout(() => socket.destroy(), Math.min(END_GRACE_MS, this.#options.timeouts.heartbeatMs));
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    try {
      await writeAll(socket, END);
    } catch {
      // The peer may already be gone; END is a courtesy.
    }
    socket.end();
  }

  /** Closes at once; pending reads fail with `reason`. */
  destroy(reason?: Error): void {
    if (reason !== undefined) this.#reader.fail(reason);
    this.#socket.destroy();
  }
}
