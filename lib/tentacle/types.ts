/**
 * The shapes of the high-level Tentacle operations: what a caller passes and what comes back.
 */
import type { Readable, Writable } from 'node:stream';
import type { CallOptions } from '../client/halibut-client.js';
import type { ProbeFailure, ProbeReport, ProbeStep } from '../client/probe-report.js';
import type { DataStream } from '../protocol/data-stream.js';

/** Which script service a run uses. */
export type ScriptServiceVersion = 'IScriptService' | 'IScriptServiceV2';

/** What an agent says it can do. */
export interface TentacleCapabilities {
  /** The capability strings, as the agent lists them (or the fallback for agents too old to say). */
  supported: readonly string[];
  /** True when the agent has no capabilities service and {@link supported} is the fallback for old Tentacles. */
  fallback: boolean;
  /** The script service runScript will use: V2 when the agent lists `IScriptServiceV2`, else V1. */
  scriptService: ScriptServiceVersion;
  /** True when the agent is a Kubernetes agent (its script service is not supported by runScript). */
  kubernetes: boolean;
}

/** The steps of a health check: a probe's, then `capabilities`, reading what the agent can do from its answer. */
export type HealthCheckStep = ProbeStep | 'capabilities';

/** What {@link TentacleClient.healthCheck} reports: a probe's findings, and the agent's capabilities. */
export interface HealthCheckReport extends Omit<ProbeReport, 'failure'> {
  /**
   * What the agent can do, as {@link TentacleClient.capabilities} would say (the fallback for Tentacles too old to
   * have a capabilities service), or `null` when the check did not get an answer it could read.
   */
  capabilities: TentacleCapabilities | null;
  /**
   * Why the check failed: at one of a probe's steps, or at `capabilities` when the agent answered the request with
   * an error other than "no such service" (a `RemoteError`) or with something that is not a list of capabilities (a
   * `ContractError`). `null` when it did not.
   */
  failure: ProbeFailure<HealthCheckStep> | null;
}

/** A file put into the script's working directory before it runs. */
export interface ScriptFileInput {
  /** Path relative to the working directory. */
  name: string;
  /** The file's bytes: text (UTF-8), bytes, or a DataStream (e.g. `DataStream.fromFile`). */
  contents: string | Uint8Array | DataStream;
  /** Stores the file AES-encrypted on the agent with this password (Calamari reads such files). */
  encryptionPassword?: string;
}

/**
 * How a script run is watched, whether {@link TentacleClient.runScript} started it or
 * {@link TentacleClient.attachScript} picked it up.
 */
export interface ScriptWatchOptions {
  /** Cancel the script on the agent if it runs longer than this; the run then rejects with ScriptTimeoutError. */
  timeoutMs?: number;
  /** Cancels the script on the agent; the result then says `cancelled: true`. */
  signal?: AbortSignal;
  /** Keep the `##octopus[...]` level markers as log lines (default: they are consumed and set `level`). */
  keepServiceMessages?: boolean;
  /**
   * The most lines held for the iterator before it takes them. Default 10 000. While a reader is iterating and the
   * buffer is full, the run stops polling the agent until the reader catches up (the script keeps running there and
   * its output waits in the agent's log), so a slow reader slows the polling, never the process's memory. One status
   * response is added whole, so the buffer can pass the bound by that response's lines.
   */
  maxBufferedLines?: number;
  /** The most bytes of line text (UTF-8) held for the iterator; as {@link maxBufferedLines}. Default 1 MiB. */
  maxBufferedBytes?: number;
  /**
   * V2 runs: awaited once the agent reports the script complete and before CompleteScript removes its workspace,
   * so that the caller can first record the outcome somewhere durable (a job queue, a database). Until the
   * workspace is removed the script can be attached again and reports the same end; afterwards its ticket is
   * unknown to the agent. If the callback throws (or rejects), the workspace is kept and the run rejects with that
   * error. Not called for V1 runs, which cannot be attached again.
   */
  beforeCleanup?: (end: ScriptEnd) => void | Promise<void>;
}

/** How a V2 script ended, as {@link ScriptWatchOptions.beforeCleanup} is told before its workspace is removed. */
export interface ScriptEnd {
  /** The ticket the agent knows the script by. */
  ticket: string;
  /** The script's exit code, or one of Tentacle's own (see ScriptExitCodes). */
  exitCode: number;
  /** True when the run was cancelled before the script completed by itself. */
  cancelled: boolean;
  /** Log lines this run has received (markers excluded), all of them already handed to the run's line buffer. */
  lineCount: number;
}

/** What {@link TentacleClient.runScript} runs and how. */
export interface RunScriptOptions extends ScriptWatchOptions {
  /** The script. */
  body: string;
  /** Which shell the body is for. Default `bash`. A `powershell` body is sent as the PowerShell script too. */
  syntax?: 'bash' | 'powershell';
  /** Files saved into the working directory first. */
  files?: readonly ScriptFileInput[];
  /** Arguments, passed to the script exactly as given (they are quoted for the agent's command line). */
  arguments?: readonly string[];
  /** `full` waits for every other script using the same mutex; `none` (default) only for `full` ones. */
  isolation?: 'none' | 'full';
  /** The isolation mutex. Default `RunningScript`, the agent-wide one. */
  mutexName?: string;
  /** How long to wait for the mutex; default no limit. */
  mutexTimeoutMs?: number;
  /** The task the script belongs to (shown in the agent's mutex messages). Default `ServerTasks-halibut-client`. */
  taskId?: string;
  /** Force a script service instead of choosing from the capabilities. */
  service?: ScriptServiceVersion;
  /**
   * The script's ticket, chosen by the caller (V2 only): the name the agent knows the script by, and the key to
   * {@link TentacleClient.attachScript} it again later, from this process or another. A V2 start is idempotent per
   * ticket: starting a ticket the agent is still running (or has finished but not yet cleaned up) does not run the
   * script again but follows the existing run from its first line. Letters, digits, `-`, `_` and `.`, at most 128
   * characters. An agent that offers only V1 fails the run with ScriptTicketUnsupportedError before anything starts.
   * Default: a new random ticket.
   */
  ticket?: string;
}

/** What {@link TentacleClient.attachScript} follows and how. */
export interface AttachScriptOptions extends ScriptWatchOptions {
  /**
   * The first log record to deliver: the `sequence` of the last line already handled, plus one. Default 0, the
   * whole log from its start.
   */
  fromLogSequence?: number;
}

/** The moment the agent has the script: what {@link ScriptRun.started} resolves to. */
export interface ScriptStarted {
  /** The ticket the agent knows the script by. */
  ticket: string;
  /** The script service the run uses. */
  service: ScriptServiceVersion;
}

/** One line of a script's output. */
export interface LogLine {
  /** The script's stdout or stderr, or `debug` for the agent's own messages about the run. */
  source: 'stdout' | 'stderr' | 'debug';
  /** The line, without its line break. */
  text: string;
  /** When the agent saw the line. */
  time: Date;
  /** The level set by the last `##octopus[stdout-…]` marker: `default`, `verbose` or `wait`. */
  level: 'default' | 'verbose' | 'wait';
  /**
   * The line's place in the agent's log of the script, from 0 (level markers count too). A process that handled
   * every line up to this one resumes after it with `attachScript(endpoint, ticket, { fromLogSequence: sequence + 1 })`.
   */
  sequence: number;
}

/** How a script ended. */
export interface ScriptResult {
  /** The script's exit code, or one of Tentacle's own (see ScriptExitCodes). */
  exitCode: number;
  /** True when the run was cancelled (by `signal` or `timeoutMs`) before it completed by itself. */
  cancelled: boolean;
  /** The ticket the agent knows the script by. */
  ticket: string;
  /** The script service used. */
  service: ScriptServiceVersion;
  /** Log lines received from the agent, markers excluded (dropped lines included). */
  lineCount: number;
  /**
   * Lines received but not kept for the iterator: those that arrived while the buffer was full and nobody was
   * iterating the run, and those after the reader stopped iterating early. 0 whenever every line was read.
   */
  droppedLines: number;
  /** False when the final CompleteScript failed, so the script's workspace may remain on the agent. */
  workspaceCleanedUp: boolean;
}

/**
 * A running script: iterate it for log lines as they arrive, and await it (or `result`) for how it ended. Lines are
 * buffered until read, within `maxBufferedLines` and `maxBufferedBytes`: while a reader iterates, a full buffer
 * pauses the polling; a run that is awaited without being iterated still completes, keeping its first lines for a
 * later iteration and dropping (and counting) the rest.
 */
export interface ScriptRun extends AsyncIterable<LogLine>, PromiseLike<ScriptResult> {
  /** The same as awaiting the run. */
  readonly result: Promise<ScriptResult>;
  /**
   * The script's ticket as soon as it is known: at once for a caller-chosen ticket or an attached run, before the
   * V2 start goes out for a new one (so it can be stored before the agent has the script), and when the agent
   * answers the start for V1. `undefined` until then.
   */
  readonly ticket: string | undefined;
  /**
   * Resolves once the agent has the script (its start was answered, or an attached run's first status came back),
   * with its ticket and service; resolves `undefined` if the run ended without that, and never rejects (the run's
   * own error says what went wrong).
   */
  readonly started: Promise<ScriptStarted | undefined>;
  /** Cancels the script on the agent (the same as aborting `signal`). */
  cancel(reason?: unknown): void;
}

/** Progress of a transfer. */
export interface TransferProgress {
  /** Bytes transferred so far. */
  bytes: number;
  /** The total, when known. */
  total: number | undefined;
}

/** How {@link TentacleClient.uploadFile} uploads; `signal` aborts the upload. */
export interface UploadOptions extends Pick<CallOptions, 'signal'> {
  /**
   * The longest the upload may take, connecting and sending every byte included; then it fails with
   * `CallTimeoutError` (which says whether the request had started). No limit by default.
   */
  timeoutMs?: number;
  /** Needed when the source is a Readable: the exact number of bytes it will produce. */
  length?: number;
  /** Called as bytes go out: when 64 KiB or more have passed since the last call, and once at the end. */
  onProgress?: (progress: TransferProgress) => void;
}

/** What an upload saved, checked against what was sent. */
export interface UploadedFile {
  /** The absolute path on the agent. */
  fullPath: string;
  /** Lowercase hex SHA-1, reported by the agent and equal to that of the bytes sent. */
  sha1: string;
  /** The file's size in bytes. */
  length: number;
}

/** How {@link TentacleClient.downloadFile} downloads; `signal` aborts the download. */
export interface DownloadOptions extends Pick<CallOptions, 'signal'> {
  /**
   * The longest the download may take, connecting and receiving every byte included; then it fails with
   * `CallTimeoutError` and nothing is left under the destination's name. No limit by default.
   */
  timeoutMs?: number;
  /** Called as bytes arrive: when 64 KiB or more have passed since the last call, and once at the end. */
  onProgress?: (progress: TransferProgress) => void;
}

/** What a download wrote. */
export interface DownloadedFile {
  /** Bytes written. */
  length: number;
  /** Lowercase hex SHA-1 of the bytes received. */
  sha1: string;
}

/** Where an upload's bytes come from: a file path, bytes, a Readable of known length, or a DataStream. */
export type UploadSource = string | Uint8Array | Readable | DataStream;

/** Where a download's bytes go: a file path or a Writable. */
export type DownloadDestination = string | Writable;
