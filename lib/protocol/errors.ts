import { HalibutError } from '../errors.js';

/** The peer broke the Halibut protocol: unexpected control line, malformed message, bad data-stream framing. */
export class ProtocolError extends HalibutError {
  readonly code: string = 'ERR_PROTOCOL';
}

/** A message could not be decoded: bad DEFLATE data, malformed BSON, or BSON we do not support. */
export class MessageFormatError extends ProtocolError {
  override readonly code: string = 'ERR_MESSAGE_FORMAT';
}

/** A message exceeded a configured bound (decompressed size or nesting depth). */
export class MessageTooLargeError extends ProtocolError {
  override readonly code: string = 'ERR_MESSAGE_TOO_LARGE';
  constructor(
    message: string,
    /** The limit that was exceeded, in bytes or levels. */
    readonly limit: number,
  ) {
    super(message);
  }
}

/** The connection ended (EOF, reset or local destroy) while a message, line or data stream was being read. */
export class ConnectionClosedError extends ProtocolError {
  override readonly code: string = 'ERR_CONNECTION_CLOSED';
}

/** A data stream's body or trailer did not match its declared length, or it was read out of order. */
export class DataStreamError extends ProtocolError {
  override readonly code: string = 'ERR_DATA_STREAM';
}

/** A read or write saw no progress within its phase's time limit. */
export class PhaseTimeoutError extends HalibutError {
  readonly code = 'ERR_TIMEOUT';
  constructor(
    /** Which phase timed out, e.g. `connect`, `handshake`, `identification`, `response`, `read`. */
    readonly phase: string,
    /** The configured limit in milliseconds. */
    readonly timeoutMs: number,
    detail?: string,
  ) {
    super(`Timed out after ${timeoutMs} ms in phase '${phase}'${detail === undefined ? '' : `: ${detail}`}`);
  }
}
