import type { HalibutClient } from '../client/halibut-client.js';
import { resolveEndpoint, type Endpoint } from '../client/endpoint.js';
import { isCallStopped } from '../client/errors.js';
import type { ProcessOutput } from '../contracts/dtos.js';
import { ServiceNames } from '../contracts/services.js';
import { publishScriptCompleted, publishScriptPaused } from '../diagnostics/channels.js';
import { isCallerTicket, newScriptTicket } from '../contracts/ticket.js';
import { TimeSpan } from '../protocol/dotnet-values.js';
import type { ProbeOptions } from '../client/probe-report.js';
import { CapabilitiesCache } from './capabilities.js';
import { healthCheck } from './health-check.js';
import { ScriptTicketUnsupportedError, ScriptTimeoutError, UnsupportedScriptServiceError } from './errors.js';
import { LINE_BUFFER_DEFAULTS } from './line-buffer.js';
import { downloadFile, uploadFile } from './file-transfer.js';
import { LogLineReader } from './log-lines.js';
import { POLL_DEFAULTS, type PollOptions, type ResolvedPollOptions } from './polling.js';
import { ManyRun } from './run-on-many.js';
import type { ManyScriptRun, RunOnManyOptions, ScriptTarget } from './run-on-many-types.js';
import { DEFAULT_TASK_ID, startFields } from './script-command.js';
import { executeV1, executeV2, notStarted, type ExecutionContext, type ExecutionOutcome } from './script-execution.js';
import { ScriptRunHandle, type RunReporter } from './script-run.js';
import type {
  AttachScriptOptions,
  DownloadDestination,
  DownloadedFile,
  DownloadOptions,
  LogLine,
  RunScriptOptions,
  HealthCheckReport,
  ScriptResult,
  ScriptRun,
  ScriptWatchOptions,
  TentacleCapabilities,
  UploadedFile,
  UploadOptions,
  UploadSource,
} from './types.js';
import { addAbortListener, isAborted } from '../util/abort.js';

/** How a {@link TentacleClient} caches capabilities, polls scripts, and bounds repeats and cancellation. */
export interface TentacleClientOptions {
  /** How long an agent's capabilities are remembered. Default 600 000 ms, as Octopus caches them. */
  capabilitiesCacheMs?: number;
  /** Waits between status polls. Defaults: 300 ms growing by 1.15 per poll up to 5 s, as Octopus polls. */
  poll?: PollOptions;
  /**
   * How long a V2 StartScript waits on the agent for the script to finish before answering, so that short scripts
   * take one round trip. Default 5 000 ms, as Octopus sends.
   */
  startWaitMs?: number;
  /** Tries of a V2 call whose connection failed after the request went out (V2 calls are safe to repeat). Default 5. */
  idempotentAttempts?: number;
  /** How long cancelling a script, and the cleanup after it, may take. Default 300 000 ms. */
  cancelTimeoutMs?: number;
}

/**
 * The operations people run against a Tentacle: ask what it can do, run a script and watch its output, send and
 * fetch files. Built on a {@link HalibutClient}, whose pool, pins, proxies and retries it uses as they are.
 */
export class TentacleClient {
  /** The client the calls go through. */
  readonly halibut: HalibutClient;
  readonly #capabilities: CapabilitiesCache;
  readonly #poll: ResolvedPollOptions;
  readonly #startWaitMs: number;
  readonly #idempotentAttempts: number;
  readonly #cancelTimeoutMs: number;
  /** Script runs in progress, so that closing can stop them on the agent first. */
  readonly #runs = new Set<ScriptRun>();
  /** Runs on many targets in progress, so that closing starts no more of their targets. */
  readonly #manyRuns = new Set<ManyRun>();

  /** Uses `client` for every call; closing this TentacleClient closes `client` too. */
  constructor(client: HalibutClient, options: TentacleClientOptions = {}) {
    this.halibut = client;
    this.#capabilities = new CapabilitiesCache(client, positive(options.capabilitiesCacheMs, 600_000, 'capabilitiesCacheMs', true));
    this.#poll = { ...POLL_DEFAULTS, ...definedOnly(options.poll ?? {}) };
    this.#startWaitMs = positive(options.startWaitMs, 5000, 'startWaitMs', true);
    this.#idempotentAttempts = positive(options.idempotentAttempts, 5, 'idempotentAttempts', false);
    this.#cancelTimeoutMs = positive(options.cancelTimeoutMs, 300_000, 'cancelTimeoutMs', false);
  }

  /**
   * What the agent can do. Agents without a capabilities service (Tentacles before 6.3) are taken to offer the V1
   * script service and file transfer, with `fallback: true`. Answers are cached per endpoint; `refresh` asks again.
   */
  capabilities(endpoint: Endpoint, options: { signal?: AbortSignal; refresh?: boolean } = {}): Promise<TentacleCapabilities> {
    return this.#capabilities.get(endpoint, options);
  }

  /**
   * Checks the agent end to end and asks what it can do, on one connection of its own: a
   * {@link HalibutClient.probe} whose request is `GetCapabilities`. The report is the probe's (reachable, TLS,
   * certificate, pin, Halibut, trust, latency, failure) with the agent's `capabilities`, which are also remembered as
   * {@link capabilities} would remember them. Resolves with a report for every failure an agent can cause, and rejects
   * only for an invalid endpoint or `timeoutMs`, or a closed client. See docs/tentacle.md.
   */
  healthCheck(endpoint: Endpoint, options: ProbeOptions = {}): Promise<HealthCheckReport> {
    return healthCheck(this.halibut, this.#capabilities, endpoint, options);
  }

  /**
   * Runs a script on the agent. The returned run is an async iterable of its log lines, as they arrive, and a
   * promise of its result. The script service is chosen from the agent's capabilities (V2 where offered) unless
   * `options.service` says otherwise. Cancelling (through `signal`, `run.cancel()` or `timeoutMs`) stops the script
   * on the agent and waits until the agent confirms it; the workspace is cleaned up at the end in every case.
   * `options.ticket` names a V2 run, so that it can be picked up again with {@link attachScript}; `run.ticket` gives
   * the ticket in every case, before the start goes out for V2.
   */
  runScript(endpoint: Endpoint, options: RunScriptOptions): ScriptRun {
    const fields = startFields(options);
    const chosen = options.ticket === undefined ? undefined : checkedTicket(options.ticket);
    if (chosen !== undefined && options.service === ServiceNames.ScriptService) {
      throw new TypeError('A caller-chosen ticket needs the V2 script service (IScriptServiceV2); V1 agents choose their own tickets');
    }
    return this.#watch(endpoint, options, chosen, async (ctx, url, report) => {
      const service = options.service ?? (await this.#scriptService(endpoint, ctx.cancel));
      const taskId = options.taskId ?? DEFAULT_TASK_ID;
      if (service === ServiceNames.ScriptService) {
        if (chosen !== undefined) throw new ScriptTicketUnsupportedError(url, chosen);
        return executeV1(ctx, { ...fields, TaskId: taskId });
      }
      const ticket = chosen ?? newScriptTicket().TaskId;
      report.ticketKnown(ticket);
      return executeV2(ctx, {
        start: {
          ...fields,
          ScriptTicket: { TaskId: ticket },
          TaskId: taskId,
          DurationToWaitForScriptToFinish: this.#startWaitMs === 0 ? null : TimeSpan.fromMilliseconds(this.#startWaitMs),
        },
      });
    });
  }

  /**
   * Picks up a V2 script started earlier, by this process or another (e.g. before a restart), without starting it
   * again: the returned run delivers its log from `options.fromLogSequence` (default: from the start) and ends as a
   * {@link runScript} run does, with cancelling and cleanup (CompleteScript) included. A ticket the agent does not
   * know, because it never ran or it finished and was cleaned up, fails the run with ScriptNotFoundError. Only V2
   * scripts can be attached: a V1 agent answers an unknown ticket as a success, so it cannot be asked reliably.
   */
  attachScript(endpoint: Endpoint, ticket: string, options: AttachScriptOptions = {}): ScriptRun {
    const known = checkedTicket(ticket);
    const fromLogSequence = options.fromLogSequence ?? 0;
    if (!Number.isSafeInteger(fromLogSequence) || fromLogSequence < 0) {
      throw new TypeError(`fromLogSequence must be a non-negative integer, got ${String(options.fromLogSequence)}`);
    }
    return this.#watch(endpoint, options, known, (ctx) => executeV2(ctx, { attach: { TaskId: known }, fromLogSequence }));
  }

  /**
   * What runScript and attachScript share: the cancel signal (caller's signal, `run.cancel()`, `timeoutMs`), the
   * line buffer, the diagnostics of the run's end, and the list of runs that closing cancels.
   */
  #watch(
    endpoint: Endpoint,
    options: ScriptWatchOptions,
    ticket: string | undefined,
    execute: (ctx: ExecutionContext, url: string, report: RunReporter) => Promise<ExecutionOutcome>,
  ): ScriptRun {
    const url = resolveEndpoint(endpoint).url;
    const limits = {
      maxLines: positive(options.maxBufferedLines, LINE_BUFFER_DEFAULTS.maxLines, 'maxBufferedLines', false),
      maxBytes: positive(options.maxBufferedBytes, LINE_BUFFER_DEFAULTS.maxBytes, 'maxBufferedBytes', false),
    };
    const cancel = new AbortController();
    const timedOut = { value: false };
    const onAbort = (): void => cancel.abort(options.signal?.reason);
    // Synchronously when it has already fired, so that a run given a fired signal never starts anything.
    if (isAborted(options.signal)) onAbort();
    // The time limit is one more signal: when it fires first, the run is cancelled like any other and then reported
    // as a timeout. Its timer does not hold the process open; the run's own calls do while it lasts.
    const deadline = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(positive(options.timeoutMs, 0, 'timeoutMs', false));
    const listeners = [
      addAbortListener(options.signal, onAbort),
      addAbortListener(deadline, () => {
        if (cancel.signal.aborted) return;
        timedOut.value = true;
        cancel.abort(new Error('timeout'));
      }),
    ];

    const run = new ScriptRunHandle(
      async (report) => {
        const reader = new LogLineReader(options.keepServiceMessages === true);
        let lineCount = 0;
        const ctx: ExecutionContext = {
          client: this.halibut,
          endpoint,
          url,
          emit: (records: readonly ProcessOutput[], firstSequence: number) => {
            const lines: LogLine[] = reader.read(records, firstSequence);
            lineCount += lines.length;
            report.emit(lines);
          },
          room: (signal) => report.room(signal, (lines, bytes) => publishScriptPaused(url, ctx.ticket ?? '', lines, bytes)),
          started: (known, service) => report.started(known, service),
          cancel: cancel.signal,
          ...(options.beforeCleanup === undefined ? {} : { beforeCleanup: (end) => Promise.resolve(options.beforeCleanup?.({ ...end, lineCount })) }),
          poll: this.#poll,
          idempotentAttempts: this.#idempotentAttempts,
          cancelTimeoutMs: this.#cancelTimeoutMs,
        };
        const started = performance.now();
        try {
          let outcome: ExecutionOutcome;
          try {
            outcome = await execute(ctx, url, report);
          } catch (err) {
            // Cancelled (or out of time) before anything was started: there is nothing to stop on the agent.
            if (ctx.ticket !== undefined || !isCallStopped(err) || !cancel.signal.aborted) throw err;
            if (timedOut.value) throw new ScriptTimeoutError(url, options.timeoutMs ?? 0, undefined);
            outcome = notStarted(ServiceNames.ScriptService);
          }
          if (timedOut.value && outcome.cancelled) throw new ScriptTimeoutError(url, options.timeoutMs ?? 0, outcome.exitCode);
          const result: ScriptResult = { ...outcome, lineCount, droppedLines: report.droppedLines };
          publishScriptCompleted(url, started, result);
          return result;
        } catch (err) {
          publishScriptCompleted(url, started, { ticket: ctx.ticket ?? '', exitCode: undefined, cancelled: cancel.signal.aborted, error: err });
          throw err;
        } finally {
          for (const listener of listeners) listener[Symbol.dispose]();
        }
      },
      (reason) => cancel.abort(reason),
      limits,
      ticket,
    );
    this.#runs.add(run);
    const forget = (): void => {
      this.#runs.delete(run);
    };
    run.result.then(forget, forget);
    return run;
  }

  /**
   * Runs one script on many agents, at most `options.concurrency` (default 32) in progress at once. The returned run
   * is an async iterable of every target's events as they happen (per target: `start`, its `line`s, then `result`
   * or `error`; or `skipped`), and a promise of the summary (succeeded, failed, cancelled, skipped, each target's
   * exit code, result or error), which never rejects. A target succeeds when its script completes with exit code 0.
   *
   * One target's failure never stops the others unless `failFast`, which cancels the scripts still running and
   * starts no more. Aborting `signal` (or `run.cancel()`) cancels every running script on its agent, as
   * `runScript` does. Iterate before awaiting: a run awaited without being iterated drops the lines (and counts
   * them). See docs/fleet.md.
   *
   * @throws InvalidTargetError or DuplicateTargetNameError for a bad target list, TypeError for bad options; nothing
   * is started then.
   */
  runScriptOnMany(targets: readonly ScriptTarget[], options: RunOnManyOptions): ManyScriptRun {
    // The options every target shares are checked once, here, rather than failing each target alike.
    startFields(options);
    positive(options.timeoutMs, 0, 'timeoutMs', false);
    const many = new ManyRun(targets, options, (endpoint, runOptions) => this.runScript(endpoint, runOptions));
    this.#manyRuns.add(many);
    void many.ended.then(() => this.#manyRuns.delete(many));
    return many;
  }

  /**
   * Closes the client: runs on many targets start no more targets, script runs still in progress are cancelled (each stopped on the agent and its workspace
   * cleaned up, as `run.cancel()` does) and awaited, then the {@link HalibutClient} it was given is closed. Share one
   * HalibutClient between several TentacleClients only if you close it yourself, not through them.
   */
  async close(): Promise<void> {
    for (const many of this.#manyRuns) many.cancel(new Error('The TentacleClient was closed'));
    const runs = [...this.#runs];
    for (const run of runs) run.cancel(new Error('The TentacleClient was closed'));
    await Promise.allSettled(runs.map((run) => run.result));
    await this.halibut.close();
  }

  /** Closes the client (see {@link close}), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Sends a file to the agent, streamed, and checks the SHA-1 and length the agent reports against the bytes sent.
   * A relative `remotePath` is resolved by the agent (against the Tentacle's home directory). `options.timeoutMs`
   * bounds the whole upload (then `CallTimeoutError`); `options.signal` cancels it (`CallAbortedError`).
   */
  uploadFile(endpoint: Endpoint, remotePath: string, source: UploadSource, options?: UploadOptions): Promise<UploadedFile> {
    return uploadFile(this.halibut, endpoint, remotePath, source, options);
  }

  /**
   * Fetches a file from the agent into a local file (written under a temporary name and renamed when complete) or
   * a Writable. A file the agent does not have rejects with RemoteFileNotFoundError and writes nothing.
   * `options.timeoutMs` bounds the whole download, body included (then `CallTimeoutError`); `options.signal` cancels
   * it, mid-stream too (`CallAbortedError`).
   */
  downloadFile(endpoint: Endpoint, remotePath: string, destination: DownloadDestination, options?: DownloadOptions): Promise<DownloadedFile> {
    return downloadFile(this.halibut, endpoint, remotePath, destination, options);
  }

  async #scriptService(endpoint: Endpoint, signal: AbortSignal): Promise<ScriptResult['service']> {
    const capabilities = await this.capabilities(endpoint, { signal });
    if (capabilities.kubernetes) throw new UnsupportedScriptServiceError(resolveEndpoint(endpoint).url, capabilities.supported);
    return capabilities.scriptService;
  }
}

/** A caller's ticket, checked: it names a directory on the agent, so only a safe, bounded set of characters. */
function checkedTicket(ticket: string): string {
  if (!isCallerTicket(ticket)) {
    throw new TypeError(
      `A script ticket is 1 to 128 letters, digits, '-', '_' or '.' (not first), as it names a directory on the agent; got ${JSON.stringify(ticket).slice(0, 140)}`,
    );
  }
  return ticket;
}

function positive(value: number | undefined, fallback: number, name: string, zeroAllowed: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!zeroAllowed && value === 0)) {
    throw new TypeError(`${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got ${String(value)}`);
  }
  return value;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
