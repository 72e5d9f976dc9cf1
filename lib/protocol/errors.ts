import { HalibutError } from '../errors.js';

/** A {@link ProtocolError}'s code: its own or one of its subclasses'. */
export type ProtocolErrorCode = 'ERR_PROTOCOL' | 'ERR_MESSAGE_FORMAT' | 'ERR_MESSAGE_TOO_LARGE' | 'ERR_CONNECTION_CLOSED' | 'ERR_DATA_STREAM' | 'ERR_NOT_HALIBUT' | 'ERR_AGENT_REJECTED_CLIENT' | 'ERR_CONTROL_LINE';

/** The peer broke the Halibut protocol: unexpected control line, malformed message, bad data-stream framing. */
export class ProtocolError extends HalibutError {
  readonly code: ProtocolErrorCode = 'ERR_PROTOCOL';
}

/** A message could not be decoded: bad DEFLATE data, malformed BSON, or BSON we do not support. */
export class MessageFormatError extends ProtocolError {
  override readonly code = 'ERR_MESSAGE_FORMAT' as const;
}

/** The bounds on one message, by the name of the option that sets each. */
export type MessageBound = 'maxMessageBytes' | 'maxDepth' | 'maxElements' | 'maxDecodedBytes';

/** A message exceeded a configured bound: its decompressed size, its nesting, its number of elements or their memory. */
export class MessageTooLargeError extends ProtocolError {
  override readonly code = 'ERR_MESSAGE_TOO_LARGE' as const;
  constructor(
    message: string,
    /** The limit that was exceeded, in bytes, levels or elements. */
    readonly limit: number,
    /** Which bound it is (the option that sets it). */
    readonly bound?: MessageBound,
  ) {
    super(message);
  }
}

/** The connection ended (EOF, reset or local destroy) while a message, line or data stream was being read. */
export class ConnectionClosedError extends ProtocolError {
  override readonly code = 'ERR_CONNECTION_CLOSED' as const;
}

/** A data stream's body or trailer did not match its declared length, or it was read out of order. */
export class DataStreamError extends ProtocolError {
  override readonly code = 'ERR_DATA_STREAM' as const;
}

export { PhaseTimeoutError } from '../errors.js';

/**
 * The one place a socket's own error becomes ours: a {@link HalibutError} passes through as it is, anything else
 * (a reset, a TLS record that fails its check, a write after the peer left) becomes a {@link ConnectionClosedError}
 * whose cause is the original. `doing` says what the connection was doing, e.g. `while sending`.
 */
export function connectionFailed(err: Error, doing?: string): HalibutError {
  if (err instanceof HalibutError) return err;
  const what = (err as NodeJS.ErrnoException).code ?? err.message;
  return new ConnectionClosedError(`The connection failed${doing === undefined ? '' : ` ${doing}`}: ${what}`, { cause: err });
}

/** The peer answered identification with something that is not Halibut (e.g. an HTTP response). */
export class NotHalibutPeerError extends ProtocolError {
  override readonly code = 'ERR_NOT_HALIBUT' as const;
  constructor(
    message: string,
    /** The first line the peer sent, as received (Latin-1), possibly truncated. */
    readonly firstLine: string,
  ) {
    super(message);
  }
}

/**
 * The agent closed the connection right after we identified, without a word: a Halibut listener does exactly that
 * when it does not trust the client certificate's thumbprint.
 */
export class AgentRejectedClientError extends ProtocolError {
  override readonly code = 'ERR_AGENT_REJECTED_CLIENT' as const;
  constructor(
    message: string,
    /** Our certificate's thumbprint, which the agent must trust. */
    readonly clientThumbprint: string,
  ) {
    super(message);
  }
}
