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
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import createDebug from 'debug';
import { EventEmitter } from 'eventemitter3';
import { normalizeThumbprint } from '../certificates/thumbprint.js';
import { toIdentity, type CertificateIdentity } from '../certificates/identity.js';
import { PhaseTimeoutError } from '../errors.js';
import { ByteReader, type ReadDeadline } from '../protocol/byte-reader.js';
import { DEFAULT_MAX_MESSAGE_BYTES, readCompressedMessage, writeCompressedMessage } from '../protocol/compressed-message.js';
import { MX_SERVER, PROCEED, printable, readControlLine, readNonEmptyControlLine, writeAll } from '../protocol/control-lines.js';
import { IncomingStreams, writeDataStreams } from '../protocol/data-stream-wire.js';
import { bindStreams, decodeMessage, encodeResponse, type RequestMessage } from '../protocol/message-codec.js';
import { DEFAULT_FRIENDLY_HTML, friendlyPage } from './friendly-page.js';
import { dispatch, type ServiceImplementation } from './service-dispatch.js';

const debug = createDebug('halibut:agent');

export interface ListeningAgentOptions {
  /** The agent's own certificate (what clients pin). */
  certificate: CertificateIdentity | { cert: string | Buffer; key: string | Buffer; passphrase?: string };
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
}

export interface AgentAddress {
  host: string;
  port: number;
  /** `https://host:port/`, ready for an endpoint. */
  url: string;
  /** The agent certificate's thumbprint, ready to pin. */
  thumbprint: string;
}

/** Why a connection was turned away. */
export type RejectionReason = 'no-certificate' | 'untrusted';

export interface ListeningAgentEvents {
  /** A TLS connection was accepted (before anything is known about the client). */
  connection: [];
  /** A trusted client's request, decoded, before it runs. */
  request: [request: RequestMessage, clientThumbprint: string];
  /** A client was disconnected before identification. */
  rejected: [reason: RejectionReason, clientThumbprint: string | undefined];
  /** Something other than a Halibut client connected and was shown the friendly page. */
  friendlyPage: [firstLine: string];
  /** A connection ended because of a protocol or I/O error. */
  connectionError: [error: Error];
}

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
  }

  /** The agent certificate's SHA-1 thumbprint. */
  get thumbprint(): string {
    return this.#identity.thumbprint;
  }

  /** Open connections (for tests that check nothing leaked). */
  get connectionCount(): number {
    return this.#sockets.size;
  }

  trust(thumbprint: string): void {
    this.#trusted.add(normalizeThumbprint(thumbprint));
  }

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
      },
      (socket) => this.#accept(socket),
    );
    // A client that fails the handshake (e.g. plain HTTP) only concerns that socket.
    server.on('tlsClientError', (err, socket) => {
      debug('TLS handshake failed: %s', err.message);
      socket.destroy();
    });
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
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Stops listening and closes every connection (see {@link close}), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #accept(socket: TLSSocket): void {
    this.#sockets.add(socket);
    // Without this, MX-SERVER (a small write right after TLS 1.3's session tickets) waits for the client's delayed
    // ACK: ~40 ms on every new connection.
    socket.setNoDelay(true);
    this.emit('connection');
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
    const read = { phase: 'read' as const, timeoutMs: this.#readTimeoutMs };
    const first = await readPreamble(reader, read);
    if (first === null) {
      socket.destroy();
      return;
    }
    if (!first.startsWith('MX')) {
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
    await writeAll(socket, MX_SERVER);

    for (;;) {
      const bson = await readCompressedMessage(reader, {
        maxMessageBytes: this.#maxMessageBytes,
        firstByte: { phase: 'request', timeoutMs: this.#requestIdleTimeoutMs },
        read,
      });
      if (bson === null) break;
      const decoded = decodeMessage(bson);
      if (decoded.kind !== 'request') throw new Error('Expected a request');
      const request = decoded.message;
      const incoming = new IncomingStreams(reader, decoded.streams, read);
      bindStreams(decoded, incoming.streams);
      debug('request %s.%s from %s', request.service, request.method, clientThumbprint);
      this.emit('request', request, clientThumbprint);
      const response = await dispatch(this.#services, request, {
        service: request.service,
        method: request.method,
        request,
        clientThumbprint,
      });
      // Whatever the implementation left unread must be taken off the connection before the response goes out.
      if (incoming.streams.length > 0) await incoming.drainAll();
      const { bson: out, streams } = encodeResponse(response);
      await writeCompressedMessage(socket, out);
      if (streams.length > 0) await writeDataStreams(socket, streams);

      const next = await readNonEmptyControlLine(reader, { phase: 'next', timeoutMs: this.#nextTimeoutMs }).catch((err: unknown) => {
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
