import type { ServerError } from '../protocol/message-codec.js';

/**
 * Thrown by a service implementation to make the agent answer with exactly this error, instead of wrapping the
 * exception the way a .NET service method's exception is wrapped. Useful to imitate any failure a real Tentacle
 * reports (e.g. an ambiguous-overload error) in a test.
 */
export class RemoteFailure extends Error {
  /** The error the agent sends back, as it stands. */
  readonly serverError: ServerError;
  constructor(serverError: ServerError) {
    super(serverError.message);
    this.name = 'RemoteFailure';
    this.serverError = serverError;
  }
}
