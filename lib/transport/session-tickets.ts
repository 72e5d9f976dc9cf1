/**
 * TLS 1.3 session tickets and the delayed-ACK stall.
 *
 * Under TLS 1.3 a server sends its session tickets after the handshake, as a small write of its own. A Halibut
 * listener keeps Nagle's algorithm on (Halibut's `TcpNoDelay` default, which Tentacles keep), so its next small
 * write, `MX-SERVER`, waits until the tickets are acknowledged. A client that sent `MX-CLIENT` before the tickets
 * arrived has nothing more to send, so its kernel delays that ACK (Linux: 40 ms at least; other systems longer):
 * every new connection stalls. Sending `MX-CLIENT` once the tickets are in lets its segment carry the ACK, and the
 * listener answers at once. Nothing changes in what the listener reads: the same records in the same order.
 *
 * The trade-off, per kind of listener (RTT = network round trip):
 * - Nagle on (a Tentacle): waiting costs nothing. `MX-SERVER` cannot leave before our ACK of the tickets reaches the
 *   listener, and that ACK cannot leave before the tickets reach us; we send `MX-CLIENT` at exactly that moment.
 *   Not waiting adds the delayed-ACK time to every new connection.
 * - Nagle off: the listener would have answered at once, so waiting costs the tickets' arrival time, about one RTT.
 * - No tickets at all: waiting costs the whole bound.
 * So the wait is bounded by {@link DELAYED_ACK_MS}, the least the stall costs: a wait never costs more than the stall
 * it avoids. Within that, about twice the handshake's duration: the tickets come about one handshake round trip after
 * it, and a peer that sends none costs no more than that. On a path slower than the bound (RTT > 40 ms) the wait
 * runs out before the tickets come: a Nagle-on listener is then no worse off than without it, a Nagle-off one pays
 * the bound. The wait is not skipped for a slow handshake, because a busy client (many handshakes at once) has slow
 * handshakes on any network, and Tentacles, the listeners that matter, keep Nagle on. TLS 1.2 needs no wait: its
 * ticket comes inside the handshake, before the server's Finished, and our first application bytes acknowledge it.
 */
import type { TLSSocket } from 'node:tls';
import { withDeadline } from '../util/abort.js';

/** Linux's shortest delayed-ACK timeout (TCP_DELACK_MIN): the least a stall costs, and so the longest wait. */
export const DELAYED_ACK_MS = 40;

/**
 * OpenSSL servers (Node's, .NET's on Linux) send two tickets, in one write. Wait for the last, not the first: when
 * they span two segments, the second is a small one, and Linux's Nagle holds the next small write until that is ACKed.
 */
const EXPECTED_TICKETS = 2;

/** After one ticket, how long to give the next: written together, it is in the same read or right behind. */
const NEXT_TICKET_GRACE_MS = 2;

/** Shortest useful bound: timers are not finer than a millisecond. */
const MIN_WAIT_MS = 2;

/**
 * How long to wait for session tickets after a handshake that took `handshakeMs` (from the first byte sent to
 * `secureConnect`): 0 unless TLS 1.3; otherwise twice the handshake, within [2 ms, {@link DELAYED_ACK_MS}].
 */
export function ticketWaitMs(protocol: string | null, handshakeMs: number): number {
  if (protocol !== 'TLSv1.3') return 0;
  return Math.min(DELAYED_ACK_MS, Math.max(MIN_WAIT_MS, Math.ceil(2 * handshakeMs)));
}

const watches = new WeakMap<TLSSocket, Promise<void>>();

/** What the bound ends the wait with; caught at once, never seen by a caller. */
const BOUND_REACHED = new Error('session ticket wait bound reached');

/**
 * Starts watching for the session tickets on a socket whose handshake just completed; {@link ticketsSettled} then
 * resolves once they are in, once `waitMs` has passed, or once the socket closes, whichever comes first. Must be
 * called before the event loop reads again (the tickets could otherwise be read unseen); `waitMs` 0 waits for nothing.
 */
export function watchSessionTickets(socket: TLSSocket, waitMs: number): void {
  if (waitMs <= 0) return;
  const wait = withDeadline<undefined>({ timeoutMs: waitMs, expired: () => BOUND_REACHED }, undefined, (settle) => {
    let tickets = 0;
    let grace: NodeJS.Timeout | undefined;
    const done = (): void => settle.resolve(undefined);
    const onTicket = (): void => {
      // Not settled from within the event: it fires inside OpenSSL's read, and a write made there (our promise's
      // continuation runs before control returns to OpenSSL) corrupts the record stream (the peer sees a bad MAC).
      if (++tickets >= EXPECTED_TICKETS) return void setImmediate(done);
      // A server that sends only one: give a second a moment (the overall bound still holds).
      clearTimeout(grace);
      grace = setTimeout(done, NEXT_TICKET_GRACE_MS);
    };
    socket.on('session', onTicket);
    socket.once('close', done);
    return () => {
      clearTimeout(grace);
      socket.off('session', onTicket);
      socket.off('close', done);
      watches.delete(socket);
    };
  });
  // Reaching the bound is not a failure: it ends the wait like the tickets would.
  watches.set(socket, wait.catch(() => undefined));
}

/** Resolves when the tickets watched by {@link watchSessionTickets} are in (or the wait ended); at once if none is watched. */
export function ticketsSettled(socket: TLSSocket): Promise<void> {
  return watches.get(socket) ?? Promise.resolve();
}
