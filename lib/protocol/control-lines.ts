/**
 * Control lines: the identification handshake and the NEXT / PROCEED / END heartbeat.
 *
 * Each line goes out in a single write: Halibut 4.4.8 reads control lines through a buffering reader and fails when
 * an identity line and the blank line after it arrive in separate TLS records.
 */
import type { Socket } from 'node:net';
import type { ByteReader, ReadDeadline } from './byte-reader.js';
import { DeadlineTimer } from './deadline-timer.js';
import { connectionFailed, ConnectionClosedError, PhaseTimeoutError, ProtocolError } from './errors.js';

export const MX_LINE = Buffer.from('MX\r\n\r\n', 'ascii');
export const MX_CLIENT = Buffer.from('MX-CLIENT 1.0\r\n\r\n', 'ascii');
export const MX_SERVER = Buffer.from('MX-SERVER 1.0\r\n\r\n', 'ascii');
export const NEXT = Buffer.from('NEXT\r\n', 'ascii');
export const PROCEED = Buffer.from('PROCEED\r\n', 'ascii');
export const END = Buffer.from('END\r\n', 'ascii');

/** Halibut caps its first line at 20,000 characters; control lines get the same bound here. */
export const MAX_CONTROL_LINE = 20_000;

/**
 * Writes bytes and resolves once the socket has taken them (so the next write starts a new TLS record). With a
 * deadline, a peer that stops reading long enough fails the write and the socket is destroyed.
 */
export function writeAll(socket: Socket, bytes: Buffer, deadline?: ReadDeadline): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let kept: DeadlineTimer | undefined;
    if (deadline !== undefined && Number.isFinite(deadline.timeoutMs)) {
      kept = writeDeadline(socket);
      if (kept.busy) {
        // Another timed write is still under way on this socket: this one gets a timer of its own.
        kept = undefined;
        timer = setTimeout(() => writeTimedOut(socket, deadline, reject), deadline.timeoutMs);
      } else {
        kept.start(deadline.timeoutMs, () => writeTimedOut(socket, deadline, reject));
      }
    }
    socket.write(bytes, (err) => {
      clearTimeout(timer);
      if (kept !== undefined) {
        kept.stop();
        if (socket.destroyed) kept.dispose();
      }
      if (err === null || err === undefined) resolve();
      else reject(connectionFailed(err, 'while sending'));
    });
  });
}

function writeTimedOut(socket: Socket, deadline: ReadDeadline, reject: (err: Error) => void): void {
  const err = new PhaseTimeoutError(deadline.phase, deadline.timeoutMs, 'the peer stopped reading what we send');
  socket.destroy(err);
  reject(err);
}

/** Each socket's write deadlines share one kept timer, cleared when the socket closes. */
const writeDeadlines = new WeakMap<Socket, DeadlineTimer>();

function writeDeadline(socket: Socket): DeadlineTimer {
  let timer = writeDeadlines.get(socket);
  if (timer === undefined) {
    const created = new DeadlineTimer();
    timer = created;
    writeDeadlines.set(socket, created);
    socket.once('close', () => created.dispose());
  }
  return timer;
}

/** A line that was too long or ended without CRLF; carries what was seen so callers can show it. */
export class ControlLineError extends ProtocolError {
  override readonly code = 'ERR_CONTROL_LINE' as const;
  constructor(
    message: string,
    /** The start of what the peer sent, as text. */
    readonly received: string,
  ) {
    super(message);
  }
}

/**
 * Reads one CRLF-terminated line, byte-exact: nothing after the CRLF is consumed. Returns `null` on a clean end of
 * stream before any byte of the line.
 */
export async function readControlLine(reader: ByteReader, deadline?: ReadDeadline, maxLength = MAX_CONTROL_LINE): Promise<string | null> {
  const parts: Buffer[] = [];
  let length = 0;
  let lastWasCr = false;
  for (;;) {
    const chunk = await reader.read(64 * 1024, deadline);
    if (chunk === null) {
      if (length === 0) return null;
      const seen = Buffer.concat(parts).toString('latin1');
      throw new ConnectionClosedError(`The connection ended in the middle of a control line: ${printable(seen)}`);
    }
    let end = -1;
    if (lastWasCr && chunk[0] === 0x0a) end = 0;
    else {
      const lf = findCrLf(chunk);
      if (lf >= 0) end = lf + 1;
    }
    if (end >= 0) {
      parts.push(chunk.subarray(0, end + 1));
      reader.unshift(chunk.subarray(end + 1));
      const line = Buffer.concat(parts);
      return line.toString('latin1', 0, line.length - 2);
    }
    parts.push(chunk);
    length += chunk.length;
    lastWasCr = chunk[chunk.length - 1] === 0x0d;
    if (length > maxLength) {
      const seen = Buffer.concat(parts).subarray(0, 200).toString('latin1');
      throw new ControlLineError(`A control line exceeded ${maxLength} bytes without CRLF`, seen);
    }
  }
}

/**
 * Most blank lines accepted before a control message. Halibut skips blank lines around NEXT, PROCEED and END, and a
 * real peer sends one at most; without a bound a peer could keep a phase busy for ever with CRLFs.
 */
export const MAX_BLANK_LINES = 64;

/** Reads lines until one is not empty (Halibut skips blank lines around NEXT, PROCEED and END), within a bound. */
export async function readNonEmptyControlLine(reader: ByteReader, deadline?: ReadDeadline): Promise<string | null> {
  for (let blank = 0; ; blank++) {
    if (blank > MAX_BLANK_LINES) throw new ControlLineError(`More than ${MAX_BLANK_LINES} blank lines before a control message`, '\r\n'.repeat(4));
    const line = await readControlLine(reader, deadline);
    if (line === null || line.length > 0) return line;
  }
}

function findCrLf(chunk: Buffer): number {
  let i = chunk.indexOf(0x0d);
  while (i >= 0 && i < chunk.length - 1) {
    if (chunk[i + 1] === 0x0a) return i;
    i = chunk.indexOf(0x0d, i + 1);
  }
  return -1;
}

/** Renders peer-supplied text safely for an error message: control characters escaped, length capped. */
export function printable(text: string, max = 120): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(shown);
}
