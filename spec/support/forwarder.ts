// A fault-injecting TCP forwarder: it sits between a client and an agent on loopback and, on command, pauses a
// direction (by no longer reading, so TCP backpressure builds up as on a stalled link), resets or kills connections,
// or pauses new connections before a byte has passed.
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Endpoint } from '../../lib/index.js';
import { onCleanup } from './cleanup-list.js';

export class Link {
  /** Bytes passed from the client to the agent, and back. */
  up = 0;
  down = 0;
  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
  ) {}

  /** Stops carrying client → agent bytes. */
  pauseUp(): void {
    this.client.pause();
  }
  /** Stops carrying agent → client bytes. */
  pauseDown(): void {
    this.upstream.pause();
  }
  pause(): void {
    this.pauseUp();
    this.pauseDown();
  }
  resume(): void {
    this.client.resume();
    this.upstream.resume();
  }
  /** Closes both sides (FIN). */
  kill(): void {
    this.client.destroy();
    this.upstream.destroy();
  }
  /** Resets both sides (RST). */
  reset(): void {
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
  }
}

export class Forwarder {
  readonly links = new Set<Link>();
  /** Connections accepted so far. */
  accepted = 0;
  /** When true, new connections are accepted but carry nothing until resumed. */
  pauseNew = false;
  /** Called for every chunk passed; may pause or kill the link (e.g. after so many bytes). */
  onData: ((link: Link, direction: 'up' | 'down') => void) | undefined;
  /** May replace a chunk before it is passed on (to corrupt bytes in flight). */
  transform: ((link: Link, direction: 'up' | 'down', chunk: Buffer) => Buffer) | undefined;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: Endpoint): Promise<Forwarder> {
    const { hostname, port } = new URL(target.url);
    const server = createServer({ pauseOnConnect: true });
    const forwarder = new Forwarder(server);
    server.on('connection', (client) => {
      forwarder.accepted++;
      const upstream = createConnection({ host: hostname, port: Number(port) });
      const link = new Link(client, upstream);
      forwarder.links.add(link);
      const end = (): void => {
        forwarder.links.delete(link);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.on('data', (chunk: Buffer) => {
        link.up += chunk.length;
        upstream.write(forwarder.transform?.(link, 'up', chunk) ?? chunk);
        forwarder.onData?.(link, 'up');
      });
      upstream.on('data', (chunk: Buffer) => {
        link.down += chunk.length;
        client.write(forwarder.transform?.(link, 'down', chunk) ?? chunk);
        forwarder.onData?.(link, 'down');
      });
      if (forwarder.pauseNew) upstream.pause();
      else client.resume();
      if (forwarder.pauseNew) client.pause();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => forwarder.close());
    return forwarder;
  }

  /** The endpoint as seen through the forwarder (same pin). */
  endpointFor(endpoint: Endpoint): Endpoint {
    const { port } = this.#server.address() as AddressInfo;
    return { url: `https://127.0.0.1:${port}/`, thumbprint: endpoint.thumbprint };
  }

  pauseAll(): void {
    for (const l of this.links) l.pause();
  }
  resumeAll(): void {
    for (const l of this.links) l.resume();
  }
  killAll(): void {
    for (const l of this.links) l.kill();
  }

  async close(): Promise<void> {
    this.killAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
