/**
 * Finds and runs the implementation of a request, and turns what happens into a Halibut response, with the same
 * error texts and types a current Halibut service sends (so .NET clients and ours map them the same way).
 */
import { DataStream } from '../protocol/data-stream.js';
import type { RequestMessage, ResponseMessage, ServerError } from '../protocol/message-codec.js';
import { RemoteFailure } from './remote-failure.js';

/** A service implementation: methods named like the .NET contract (e.g. `SayHello`), sync or async. */
export type ServiceImplementation = object;

/** What an implementation method receives after its arguments. */
export interface CallContext {
  /** The service called. */
  service: string;
  /** The method called, as the request names it. */
  method: string;
  /** The request as decoded, including the caller's `endpoint` description. */
  request: RequestMessage;
  /** The client certificate thumbprint of the caller. */
  clientThumbprint: string;
}

/** The implementation's method for `method` (to be called with the implementation as `this`). */
function findMethod(impl: object, method: string): ((...args: unknown[]) => unknown) | undefined {
  const plain = method.toLowerCase();
  const async = `${plain}async`;
  // Names already met nearer to the object are skipped further up; within one level every name is new.
  let seen: Set<string> | undefined;
  let nearer: string[] | undefined;
  for (let proto: object | null = impl; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    if (nearer !== undefined) {
      seen ??= new Set<string>();
      for (const name of nearer) seen.add(name);
    }
    nearer = Object.getOwnPropertyNames(proto);
    for (const name of nearer) {
      if (name === 'constructor' || seen?.has(name) === true) continue;
      const fn = (impl as Record<string, unknown>)[name];
      if (typeof fn !== 'function') continue;
      const lower = name.toLowerCase();
      if (lower === plain || lower === async) return fn as (...args: unknown[]) => unknown;
    }
  }
  return undefined;
}

function exceptionText(err: unknown): { name: string; message: string; stack: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack ?? `${err.name}: ${err.message}` };
  return { name: 'Error', message: String(err), stack: `Error: ${String(err)}` };
}

function reply(request: RequestMessage, error: ServerError | null, result: unknown = null): ResponseMessage {
  return { id: request.id, error, result };
}

/**
 * How a listener's Halibut runtime finds the service a request names and decides whether its arguments fit. The
 * default is Halibut's own service factory; a Tentacle registers its services differently (see the Tentacle
 * services' `binding`).
 */
export interface RequestBinding {
  /**
   * False when the request names a `$type` the runtime cannot resolve: the agent then closes the connection without
   * a response, as Halibut does when it cannot read a request.
   */
  canRead(request: RequestMessage): boolean;
  /** The implementation serving `name`, or undefined. */
  findService(services: ReadonlyMap<string, ServiceImplementation>, name: string): ServiceImplementation | undefined;
  /** The error answered when no service is found. */
  serviceNotFound(name: string): ServerError;
  /** The error answered when the service has no such method. */
  methodNotFound(service: string, method: string): ServerError;
  /** The error answered instead of a call whose arguments do not fit the method; undefined to make the call. */
  checkArguments(service: string, method: string, params: readonly unknown[]): ServerError | undefined;
}

/** Halibut's own service factory: names matched without regard to case, arguments passed as they come. */
export const HALIBUT_BINDING: RequestBinding = {
  canRead: () => true,
  findService: (services, name) => services.get(name) ?? [...services].find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1],
  serviceNotFound: (name) => ({ message: `Service not found: ${name}`, details: null, HalibutErrorType: 'Halibut.Exceptions.ServiceNotFoundHalibutClientException' }),
  methodNotFound: (service, method) => ({
    message: `Method ${service}::${method}Async not found`,
    details: null,
    HalibutErrorType: 'Halibut.Exceptions.MethodNotFoundHalibutClientException',
  }),
  checkArguments: () => undefined,
};

export async function dispatch(
  services: ReadonlyMap<string, ServiceImplementation>,
  request: RequestMessage,
  context: CallContext,
  binding: RequestBinding = HALIBUT_BINDING,
): Promise<ResponseMessage> {
  const impl = binding.findService(services, request.service);
  if (impl === undefined) return reply(request, binding.serviceNotFound(request.service));
  const fn = findMethod(impl, request.method);
  if (fn === undefined) return reply(request, binding.methodNotFound(request.service, request.method));
  const misfit = binding.checkArguments(request.service, request.method, request.params);
  if (misfit !== undefined) return reply(request, misfit);
  try {
    // Called on the implementation, as a bound method would be.
    const result = await Reflect.apply(fn, impl, [...request.params, context]);
    return reply(request, null, result === undefined ? null : result);
  } catch (err) {
    if (err instanceof RemoteFailure) return reply(request, err.serverError);
    const { name, message, stack } = exceptionText(err);
    // A .NET service's exception arrives wrapped in TargetInvocationException; clients key on that prefix.
    return reply(request, {
      message,
      details: `System.Reflection.TargetInvocationException: Exception has been thrown by the target of an invocation. ---> ${name}: ${message}\n${stack}`,
      HalibutErrorType: null,
    });
  }
}

/** True when a value (or anything inside it) is a DataStream. */
export function containsDataStream(value: unknown, depth = 0): boolean {
  if (value instanceof DataStream) return true;
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  return Object.values(value).some((v) => containsDataStream(v, depth + 1));
}
