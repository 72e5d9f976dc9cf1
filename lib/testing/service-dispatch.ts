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

export async function dispatch(
  services: ReadonlyMap<string, ServiceImplementation>,
  request: RequestMessage,
  context: CallContext,
): Promise<ResponseMessage> {
  // Halibut's own service factory matches names without regard to case.
  const impl = services.get(request.service) ?? [...services].find(([name]) => name.toLowerCase() === request.service.toLowerCase())?.[1];
  if (impl === undefined) {
    return reply(request, {
      message: `Service not found: ${request.service}`,
      details: null,
      HalibutErrorType: 'Halibut.Exceptions.ServiceNotFoundHalibutClientException',
    });
  }
  const fn = findMethod(impl, request.method);
  if (fn === undefined) {
    return reply(request, {
      message: `Method ${request.service}::${request.method}Async not found`,
      details: null,
      HalibutErrorType: 'Halibut.Exceptions.MethodNotFoundHalibutClientException',
    });
  }
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
