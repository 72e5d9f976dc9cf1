/**
 * The `halibut:call` debug log: one line per call, written by a subscriber of the call channel. It is subscribed
 * only while the namespace is enabled, so that with logging off the call channel keeps no subscriber and calls
 * build no trace context. The line names the method, endpoint, attempts, duration and outcome; never a parameter,
 * a result, or an error's message (which may quote either).
 */
import createDebug from 'debug';
import { callChannel, type CallTraceContext } from './channels.js';

const log = createDebug('halibut:call');
let subscribed = false;

const ignore = (): void => undefined;
const subscriber = {
  start: ignore,
  end: ignore,
  asyncStart: ignore,
  error: ignore,
  asyncEnd: (context: CallTraceContext): void => {
    log('%s', describeCall(context, performance.now() - context.startedAt));
  },
};

/**
 * Subscribes the log when its namespace has been enabled and unsubscribes it when disabled. Called at the start of
 * every call: `debug` offers no notice of `enable()`, and reading its flag is cheap.
 */
export function syncCallLog(): void {
  // `enabled` is undefined, not false, until debug has been enabled or disabled once.
  const enabled: unknown = log.enabled;
  if ((enabled === true) === subscribed) return;
  subscribed = !subscribed;
  if (subscribed) callChannel.subscribe(subscriber);
  else callChannel.unsubscribe(subscriber);
}

/** The log line for a finished call, e.g. `IEchoService.Echo https://host:10933/ ok, 1 attempt, 2.1 ms`. */
export function describeCall(context: CallTraceContext, durationMs: number): string {
  const attempts = context.attempts === 1 ? '1 attempt' : `${context.attempts} attempts`;
  const head = `${context.service}.${context.method} ${context.endpoint}`;
  const took = `${attempts}, ${durationMs.toFixed(1)} ms`;
  if (!('error' in context)) return `${head} ok, ${took}`;
  const { error } = context;
  const kind = error instanceof Error ? error.name : typeof error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? ` ${(error as { code: string }).code}` : '';
  const started = context.requestStarted ? 'the request had started' : 'the request never started';
  return `${head} failed: ${kind}${code}, ${took}, ${started}`;
}
