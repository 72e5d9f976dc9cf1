import { constants } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import createDebug from 'debug';
import { EventEmitter } from 'eventemitter3';
import { normalizeThumbprint } from '../certificates/thumbprint.js';
import { toIdentity, type CertificateIdentity } from '../certificates/identity.js';
import { PhaseTimeoutError } from '../errors.js';
import { ByteReader, readDeadline, type ReadDeadline } from '../protocol/byte-reader.js';
import { DEFAULT_MAX_MESSAGE_BYTES, readCompressedMessage, writeCompressedMessage } from '../protocol/compressed-message.js';
import { MX_SERVER, PROCEED, printable, readControlLine, readNonEmptyControlLine, writeAll } from '../protocol/control-lines.js';
import { IncomingStreams, writeDataStreams } from '../protocol/data-stream-wire.js';
import { bindStreams, decodeMessageInSlices, encodeResponse, type RequestMessage } from '../protocol/message-codec.js';
import { DEFAULT_FRIENDLY_HTML, friendlyPage } from './friendly-page.js';
import { dispatch, HALIBUT_BINDING, type RequestBinding, type ServiceImplementation } from './service-dispatch.js';

const debug = createDebug('halibut:agent');

/** How a {@link ListeningAgent} identifies itself, whom it trusts, what it serves, and its limits. */
export interface ListeningAgentOptions {
  /** The agent's own certificate (what clients pin). */
  certificate:
    | CertificateIdentity
    | {
        /** The PEM certificate (chain). */
        cert: string | Buffer;
        /** The PEM private key. */
        key: string | Buffer;
        /** The key's passphrase, when it is encrypted. */
        passphrase?: string;
      };
  /** Client thumbprints allowed to call. Anyone else is disconnected without a word, as Halibut does. */
  trustedThumbprints: readonly string[];
  /** Service implementations by interface name, e.g. `{ IEchoService: { SayHello: (n) => … } }`. */
  services?: Readonly<Record<string, ServiceImplementation>>;
  /** Body of the page shown to browsers. Default Halibut's `Hello!` page. */
  friendlyHtml?: string;
  /** Extra headers on that page. */
  friendlyHeaders?: Readonly<Record<string, string>>;
  /** How long to wait for NEXT or END after a response. Default 60 000 ms (current Tentacles). */
  nextTimeoutMs?: number;
  /** How long to wait for the first byte of a request after identification or PROCEED. Default 600 000 ms. */
  requestIdleTimeoutMs?: number;
  /** Any other read without progress (preamble, rest of a request, data streams). Default 60 000 ms. */
  readTimeoutMs?: number;
  /** Largest decompressed request accepted. Default 64 MiB. */
  maxMessageBytes?: number;
  /**
   * Connections that have not yet identified (TCP accepted, TLS and the first line not done) allowed at once; beyond
   * it a new connection is closed as soon as it is accepted. Default 64.
   */
  maxUnidentifiedConnections?: number;
  /**
   * The whole of identification — TLS handshake, the first line, `MX-CLIENT` — must be over within this, however
   * the client paces its bytes; a client still identifying then is disconnected. Default 10 000 ms.
   */
  identificationTimeoutMs?: number;
  /** Most elements (values at every depth, documents and arrays included) accepted in one request. Default 2 000 000. */
  maxElements?: number;
  /** Most memory one decoded request may take, as estimated while it is decoded. Default 64 MiB. */
  maxDecodedBytes?: number;
  /**
   * Disable Nagle's algorithm on accepted connections. Default true, so that `MX-SERVER` goes out at once; a real
   * Tentacle leaves Nagle on, which makes every new connection wait ~40 ms for the client's delayed ACK
   * (`startTentacleAgent` defaults this to false, as a Tentacle).
   */
  tcpNoDelay?: boolean;
  /**
   * How services are found and arguments bound. Default Halibut's own (names without regard to case, arguments
   * passed as they come); the Tentacle services come with a Tentacle's.
   */
  binding?: RequestBinding;
}

/** Why a connection was dropped before it identified, without being looked at. */
export type DropReason = 'too-many-unidentified' | 'identification-timeout';

/** Where a started agent listens, and what to pin. */
export interface AgentAddress {
  /** The address it is bound to (IPv6 without brackets). */
  host: string;
  /** The TCP port it is bound to. */
  port: number;
  /** `https://host:port/`, ready for an endpoint. */
  url: string;
  /** The agent certificate's thumbprint, ready to pin. */
  thumbprint: string;
}

/** Why a connection was turned away. */
export type RejectionReason = 'no-certificate' | 'untrusted';

/** A {@link ListeningAgent}'s events, by name, with their arguments. */
export interface ListeningAgentEvents {
  /**
   * A TLS connection was accepted (before anything is known about the client). The socket is given before the
   * agent sets its options (`tcpNoDelay`), for tests that check them.
   */
  connection: [socket: TLSSocket];
  /** A trusted client's request, decoded, before it runs. */
  request: [request: RequestMessage, clientThumbprint: string];
  /** A client was disconnected before identification. */
  rejected: [reason: RejectionReason, clientThumbprint: string | undefined];
  /** Something other than a Halibut client connected and was shown the friendly page. */
  friendlyPage: [firstLine: string];
  /** A connection ended because of a protocol or I/O error. */
  connectionError: [error: Error];
  /** A connection was closed before it identified: over the limit of unidentified ones, or too slow to identify. */
  dropped: [reason: DropReason];
}

/** A connection not yet identified: its TCP socket, and the deadline that ends it. */
interface Unidentified {
  raw: Socket;
  timer: NodeJS.Timeout;
}

/**
 * An embeddable listening agent: a Halibut listening service in-process, for tests and demos.
 *
 * On the wire it behaves like Halibut's listener (and so like a Tentacle): the friendly page for anything that does
 * not start with `MX`, silent close for a missing or untrusted client certificate, `MX-SERVER` identification,
 * requests dispatched to JavaScript implementations, Halibut-shaped error responses, data streams both ways,
 * NEXT/PROCEED/END and idle timeouts.
 *
 * It runs whatever a trusted client asks of the services it is given. It binds to loopback unless told otherwise.
 */
export class ListeningAgent extends EventEmitter<ListeningAgentEvents> {
  readonly #identity: CertificateIdentity;
  readonly #trusted = new Set<string>();
  readonly #services = new Map<string, ServiceImplementation>();
  readonly #sockets = new Set<TLSSocket>();
  readonly #page: Buffer;
  readonly #nextTimeoutMs: number;
  readonly #requestIdleTimeoutMs: number;
  readonly #readTimeoutMs: number;
  readonly #maxMessageBytes: number;
  readonly #maxUnidentified: number;
  readonly #identificationTimeoutMs: number;
  /** By the connection's remote address and port, which its TCP and TLS sockets share. */
  readonly #unidentified = new Map<string, Unidentified>();
  readonly #decodeLimits: { maxElements?: number | undefined; maxDecodedBytes?: number | undefined };
  readonly #binding: RequestBinding;
  /** True when accepted connections get TCP_NODELAY (Nagle off). */
  readonly tcpNoDelay: boolean;
  #server: Server | undefined;

  constructor(options: ListeningAgentOptions) {
    super();
    this.#identity = toIdentity(options.certificate);
    for (const t of options.trustedThumbprints) this.#trusted.add(normalizeThumbprint(t));
    for (const [name, impl] of Object.entries(options.services ?? {})) this.#services.set(name, impl);
    this.#page = friendlyPage(options.friendlyHtml ?? DEFAULT_FRIENDLY_HTML, options.friendlyHeaders);
    this.#nextTimeoutMs = options.nextTimeoutMs ?? 60_000;
    this.#requestIdleTimeoutMs = options.requestIdleTimeoutMs ?? 600_000;
    this.#readTimeoutMs = options.readTimeoutMs ?? 60_000;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#maxUnidentified = options.maxUnidentifiedConnections ?? 64;
    this.#identificationTimeoutMs = options.identificationTimeoutMs ?? 10_000;
    this.#decodeLimits = { maxElements: options.maxElements, maxDecodedBytes: options.maxDecodedBytes };
    this.#binding = options.binding ?? HALIBUT_BINDING;
    this.tcpNoDelay = options.tcpNoDelay ?? true;
  }

  /** The agent certificate's SHA-1 thumbprint. */
  get thumbprint(): string {
    return this.#identity.thumbprint;
  }

  /** Connections accepted that have not yet identified (they count against `maxUnidentifiedConnections`). */
  get unidentifiedCount(): number {
    return this.#unidentified.size;
  }

  /** Open connections (for tests that check nothing leaked). */
  get connectionCount(): number {
    return this.#sockets.size;
  }

  /** Trusts another client certificate thumbprint from now on. */
  trust(thumbprint: string): void {
    this.#trusted.add(normalizeThumbprint(thumbprint));
  }

  /** Stops trusting a client thumbprint: its new connections are refused (open ones are not closed). */
  untrust(thumbprint: string): void {
    this.#trusted.delete(normalizeThumbprint(thumbprint));
  }

  /** Adds or replaces a service implementation. */
  addService(name: string, implementation: ServiceImplementation): void {
    this.#services.set(name, implementation);
  }

  /** Starts listening. Defaults: 127.0.0.1, an ephemeral port. */
  async listen(options: { host?: string; port?: number } = {}): Promise<AgentAddress> {
    if (this.#server !== undefined) throw new Error('The agent is already listening');
    const host = options.host ?? '127.0.0.1';
    const server = createServer(
      {
        cert: this.#identity.cert,
        key: this.#identity.key,
        minVersion: 'TLSv1.2',
        // Ask for a client certificate but accept any at the TLS layer: trust is decided by thumbprint afterwards,
        // once the first line is known (a browser gets the friendly page without one).
        requestCert: true,
        rejectUnauthorized: false,
        // A client's identity is read from the first handshake; no renegotiation may change it afterwards.
        secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      },
      (socket) => this.#accept(socket),
    );
    // A client that fails the handshake (e.g. plain HTTP) only concerns that socket.
    server.on('tlsClientError', (err, socket) => {
      debug('TLS handshake failed: %s', err.message);
      socket.destroy();
    });
    server.on('connection', (raw: Socket) => this.#admit(raw));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { host: address.address, port: address.port, url: `https://${urlHost}:${address.port}/`, thumbprint: this.thumbprint };
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    for (const { raw } of [...this.#unidentified.values()]) raw.destroy();
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The same as {@link ListeningAgent.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Every TCP connection starts unidentified: it counts against the limit until it has identified (or been shown the
   * page, or turned away), and is ended if that takes longer than the identification deadline.
   */
  #admit(raw: Socket): void {
    if (this.#unidentified.size >= this.#maxUnidentified) {
      debug('too many connections still identifying (%d): closing a new one', this.#unidentified.size);
      raw.destroy();
      this.emit('dropped', 'too-many-unidentified');
      return;
    }
    const key = connectionKey(raw);
    const timer = setTimeout(() => {
      debug('a client did not identify within %d ms', this.#identificationTimeoutMs);
      this.#identified(key, raw);
      raw.destroy();
      this.emit('dropped', 'identification-timeout');
    }, this.#identificationTimeoutMs);
    this.#unidentified.set(key, { raw, timer });
    raw.once('close', () => this.#identified(key, raw));
  }

  /** Stops counting a connection as unidentified (it identified, was answered, or is gone). */
  #identified(key: string, raw?: Socket): void {
    const entry = this.#unidentified.get(key);
    if (entry === undefined || (raw !== undefined && entry.raw !== raw)) return;
    clearTimeout(entry.timer);
    this.#unidentified.delete(key);
  }

  #accept(socket: TLSSocket): void {
    this.#sockets.add(socket);
    this.emit('connection', socket);
    // Without this, MX-SERVER (a small write right after TLS 1.3's session tickets) waits for the client's delayed
    // ACK (~40 ms) when the client sends MX-CLIENT before the tickets arrived, as on a real Tentacle; our client waits
    // for them (lib/transport/session-tickets.ts), so it does not stall either way.
    if (this.tcpNoDelay) socket.setNoDelay(true);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    this.#serve(socket).catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      debug('connection ended: %s', error.message);
      this.emit('connectionError', error);
      socket.destroy();
    });
  }

  async #serve(socket: TLSSocket): Promise<void> {
    const reader = new ByteReader(socket);
    const read = readDeadline('read', this.#readTimeoutMs);
    const key = connectionKey(socket);
    const first = await readPreamble(reader, read);
    if (first === null) {
      socket.destroy();
      return;
    }
    if (!first.startsWith('MX')) {
      this.#identified(key);
      this.emit('friendlyPage', first.split('\n')[0] ?? '');
      await writeAll(socket, this.#page);
      socket.end();
      return;
    }
    const peer = socket.getPeerCertificate();
    if (peer?.raw === undefined) {
      this.emit('rejected', 'no-certificate', undefined);
      socket.destroy();
      return;
    }
    const clientThumbprint = normalizeThumbprint(peer.fingerprint);
    if (!this.#trusted.has(clientThumbprint)) {
      debug('untrusted client %s', clientThumbprint);
      this.emit('rejected', 'untrusted', clientThumbprint);
      socket.destroy();
      return;
    }
    const identity = await readControlLine(reader, read, 1024);
    const blank = await readControlLine(reader, read, 1024);
    if (identity === null || !identity.startsWith('MX-CLIENT') || blank !== '') {
      throw new Error(`Expected MX-CLIENT and a blank line, got ${printable(String(identity))}`);
    }
    this.#identified(key);
    await writeAll(socket, MX_SERVER);

    for (;;) {
      const bson = await readCompressedMessage(reader, {
        maxMessageBytes: this.#maxMessageBytes,
        firstByte: readDeadline('request', this.#requestIdleTimeoutMs),
        read,
      });
      if (bson === null) break;
      const decoded = await decodeMessageInSlices(bson, this.#decodeLimits);
      if (decoded.kind !== 'request') throw new Error('Expected a request');
      const request = decoded.message;
      const incoming = new IncomingStreams(reader, decoded.streams, read);
      bindStreams(decoded, incoming.streams);
      debug('request %s.%s from %s', request.service, request.method, clientThumbprint);
      // Halibut cannot deserialize a request naming a type it does not know, and drops the connection unanswered.
      if (!this.#binding.canRead(request)) throw new Error(`The request ${request.id} names a $type the agent cannot resolve; closing the connection`);
      this.emit('request', request, clientThumbprint);
      const response = await dispatch(
        this.#services,
        request,
        { service: request.service, method: request.method, request, clientThumbprint },
        this.#binding,
      );
      // Whatever the implementation left unread must be taken off the connection before the response goes out.
      if (incoming.streams.length > 0) await incoming.drainAll();
      const { bson: out, streams } = encodeResponse(response);
      await writeCompressedMessage(socket, out);
      if (streams.length > 0) await writeDataStreams(socket, streams);

      const next = await readNonEmptyControlLine(reader, readDeadline('next', this.#nextTimeoutMs)).catch((err: unknown) => {
        // Waiting for NEXT and seeing nothing is how a client that pools idle connections looks; close quietly.
        if (err instanceof PhaseTimeoutError) return null;
        throw err;
      });
      if (next === 'NEXT') {
        await writeAll(socket, PROCEED);
        continue;
      }
      if (next !== 'END' && next !== null) throw new Error(`Expected NEXT or END, got ${printable(next)}`);
      break;
    }
    socket.end();
  }
}

/** The same for a connection's TCP socket and the TLS socket over it. */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

/**
 * Reads what a client sends first, as Halibut does: until a blank line, ignoring CR, at most 20,000 characters.
 * Returns null when the client closed without sending anything.
 */
async function readPreamble(reader: ByteReader, deadline: ReadDeadline): Promise<string | null> {
  let text = '';
  let lastWasNewline = false;
  for (;;) {
    const chunk = await reader.read(4096, deadline);
    if (chunk === null) return text.length === 0 ? null : text;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x0d) continue;
      if (b === 0x0a) {
        if (lastWasNewline) {
          reader.unshift(chunk.subarray(i + 1));
          return text;
        }
        lastWasNewline = true;
        text += '\n';
        continue;
      }
      lastWasNewline = false;
      text += String.fromCharCode(b);
      if (text.length >= 20_000) {
        reader.unshift(chunk.subarray(i + 1));
        return text;
      }
    }
  }
}
