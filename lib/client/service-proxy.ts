/**
 * Typed proxies: `client.service<IEchoService>(endpoint, 'IEchoService').SayHello('x')` instead of `client.call`.
 */

/** Turns an interface's methods into async calls. Declare methods with their .NET (synchronous) names. */
export type ServiceProxy<T> = {
  readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

export function createServiceProxy<T>(invoke: (method: string, params: unknown[]) => Promise<unknown>): ServiceProxy<T> {
  return new Proxy(Object.create(null) as object, {
    get(_target, property) {
      // Not a thenable, not a symbol-keyed protocol: only string names become remote methods.
      if (typeof property !== 'string' || property === 'then' || property === 'toJSON') return undefined;
      return (...params: unknown[]) => invoke(property, params);
    },
  }) as ServiceProxy<T>;
}
