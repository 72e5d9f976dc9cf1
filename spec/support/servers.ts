// Peers that are not Halibut agents, on loopback: whatever node:net, node:tls or node:http server a test builds, its
// port, and at the end of the file every connection destroyed and the server closed.
import type { AddressInfo, Server, Socket } from 'node:net';
import { onCleanup } from './cleanup.js';

/** Listens on 127.0.0.1 and an ephemeral port; returns the port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}
