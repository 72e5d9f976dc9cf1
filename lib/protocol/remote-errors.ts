/**
 * Errors reported by the remote service, mapped to classes the way Halibut's client maps them, for both the current
 * message texts and those of Halibut 4.4.x (which sends no `HalibutErrorType`).
 */
import { HalibutError } from '../errors.js';
import type { ServerError } from './message-codec.js';

/** A {@link RemoteError}'s code: its own or one of its subclasses'. */
export type RemoteErrorCode = 'ERR_REMOTE' | 'ERR_SERVICE_NOT_FOUND' | 'ERR_METHOD_NOT_FOUND' | 'ERR_AMBIGUOUS_METHOD_MATCH' | 'ERR_SERVICE_INVOCATION';

/** Where a remote error came from. */
export interface RemoteCallContext {
  /** The endpoint URL. */
  endpoint: string;
  /** The service called. */
  service: string;
  /** The method called. */
  method: string;
}

/** The service answered the call with an error. The agent ran (or tried to run) the request. */
export class RemoteError extends HalibutError {
  readonly code: RemoteErrorCode = 'ERR_REMOTE';
  /** The error text exactly as the service sent it. */
  readonly serverMessage: string;
  /** The service's full exception text (type, message, stack), when it sent one. */
  readonly details: string | null;
  /** The .NET exception type name Halibut sent, when it did. */
  readonly halibutErrorType: string | null;
  /** The endpoint URL called. */
  readonly endpoint: string;
  /** The service called. */
  readonly service: string;
  /** The method called. */
  readonly method: string;

  constructor(message: string, error: ServerError, context: RemoteCallContext) {
    super(message);
    this.serverMessage = error.message;
    this.details = error.details;
    this.halibutErrorType = error.HalibutErrorType ?? null;
    this.endpoint = context.endpoint;
    this.service = context.service;
    this.method = context.method;
  }
}

/** The agent has no service by that name (also Tentacle's "has not been registered" answer). */
export class ServiceNotFoundError extends RemoteError {
  override readonly code = 'ERR_SERVICE_NOT_FOUND' as const;
}

/** The service exists but has no method by that name. */
export class MethodNotFoundError extends RemoteError {
  override readonly code = 'ERR_METHOD_NOT_FOUND' as const;
}

/** No overload, or more than one, matched the arguments' runtime types (e.g. an `int` parameter: send longs). */
export class AmbiguousMethodMatchError extends RemoteError {
  override readonly code = 'ERR_AMBIGUOUS_METHOD_MATCH' as const;
}

/** The service method ran and threw. */
export class ServiceInvocationError extends RemoteError {
  override readonly code = 'ERR_SERVICE_INVOCATION' as const;
}

const INVOCATION_PREFIX = 'System.Reflection.TargetInvocationException: Exception has been thrown by the target of an invocation.';

type RemoteErrorClass = new (message: string, error: ServerError, context: RemoteCallContext) => RemoteError;

/** Chooses the error class for a service's error response. */
export function classifyServerError(error: ServerError): RemoteErrorClass {
  const type = error.HalibutErrorType ?? '';
  const message = error.message;
  const details = error.details ?? '';
  if (type.endsWith('.ServiceNotFoundHalibutClientException') || message.startsWith('Service not found: ') || /has not been registered through an IAutofacServiceSource$/.test(message)) {
    return ServiceNotFoundError;
  }
  if (type.endsWith('.MethodNotFoundHalibutClientException') || /^Method \S+::\S+ not found$/.test(message) || (message.startsWith('Service ') && message.endsWith(' not found'))) {
    return MethodNotFoundError;
  }
  if (
    type.endsWith('.AmbiguousMethodMatchHalibutClientException') ||
    details.startsWith('System.Reflection.AmbiguousMatchException: ') ||
    message.startsWith('More than one possible match') ||
    message.startsWith('Could not decide which candidate to call')
  ) {
    return AmbiguousMethodMatchError;
  }
  if (details.startsWith(INVOCATION_PREFIX)) return ServiceInvocationError;
  return RemoteError;
}

export function remoteErrorFrom(error: ServerError, context: RemoteCallContext): RemoteError {
  const Class = classifyServerError(error);
  const what = `${context.service}.${context.method} at ${context.endpoint}`;
  const lead: Record<string, string> = {
    ServiceNotFoundError: 'The agent has no such service',
    MethodNotFoundError: 'The service has no such method',
    AmbiguousMethodMatchError: 'No single method matched the arguments',
    ServiceInvocationError: 'The service method threw',
    RemoteError: 'The agent reported an error',
  };
  return new Class(`${lead[Class.name] ?? 'The agent reported an error'} (${what}): ${error.message}`, error, context);
}
