/**
 * What a script job holds: the target and the script, as JSON, since BullMQ keeps a job's data in Redis. Checked
 * when a job is added and again when a worker takes it (someone may have added it without {@link addScriptJob}).
 */
import type { RunScriptOptions, ScriptFileInput } from '../index.js';
import { InvalidScriptJobError } from './errors.js';

/** The agent a job runs on: as a `runScriptOnMany` target, `{ name?, url, thumbprint }`. */
export interface ScriptJobTarget {
  /** A label for logs and dashboards; not used to reach the agent. */
  name?: string;
  /** The agent's URL, e.g. `https://tentacle-01:10933/`. */
  url: string;
  /** The agent certificate's SHA-1 thumbprint, pinned. */
  thumbprint: string;
}

/** A file saved into the script's working directory before it runs: text, or bytes as base64. */
export interface ScriptJobFile {
  /** Path relative to the working directory. */
  name: string;
  /** The file's text (UTF-8). Give this or `base64`. */
  text?: string;
  /** The file's bytes, base64-encoded. Give this or `text`. */
  base64?: string;
}

/** The script a job runs: the JSON-shaped part of `RunScriptOptions`. */
export interface ScriptJobScript {
  /** The script. */
  body: string;
  /** Which shell the body is for. Default `bash`. */
  syntax?: 'bash' | 'powershell';
  /** Arguments, passed to the script exactly as given. */
  arguments?: string[];
  /** Small files for the working directory (they travel through Redis: upload large ones with `uploads`). */
  files?: ScriptJobFile[];
  /** `full` waits for every other script using the same mutex; `none` (default) only for `full` ones. */
  isolation?: 'none' | 'full';
  /** The isolation mutex. Default the agent-wide one. */
  mutexName?: string;
  /** How long to wait for the mutex; default no limit. */
  mutexTimeoutMs?: number;
  /** The task the script belongs to, as the agent's mutex messages show it. */
  taskId?: string;
  /** Cancels the script on the agent if it runs longer; the job then fails without a retry. */
  timeoutMs?: number;
}

/** A file sent to the agent before the script starts, from a path every worker can read. */
export interface ScriptJobUpload {
  /** Where the worker reads the file: shared storage, or a path in the worker's image. */
  from: string;
  /** Where the agent saves it; a relative path resolves against the Tentacle's home. */
  to: string;
}

/** A script job's data: where and what to run. */
export interface ScriptJobData {
  /** The agent. */
  target: ScriptJobTarget;
  /** The script. */
  script: ScriptJobScript;
  /**
   * Files sent to the agent before the script starts (SHA-1 checked), each time a worker starts the script; never
   * when a worker attaches to a script an earlier attempt started.
   */
  uploads?: ScriptJobUpload[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optional(o: Record<string, unknown>, key: string, type: 'string' | 'number', path: string): void {
  if (o[key] !== undefined && typeof o[key] !== type) throw new InvalidScriptJobError(`${path}.${key} must be a ${type}`);
}

function stringList(v: unknown, path: string): void {
  if (v !== undefined && (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))) throw new InvalidScriptJobError(`${path} must be a list of strings`);
}

/**
 * Checks that `data` is a script job's data and returns it typed. The checks are those of shape: a bad URL or
 * thumbprint is the agent call's to report.
 *
 * @throws InvalidScriptJobError naming the first field that is wrong.
 */
export function checkScriptJobData(data: unknown): ScriptJobData {
  if (!isObject(data)) throw new InvalidScriptJobError('the job data must be an object { target, script, uploads? }');
  const { target, script, uploads } = data;
  if (!isObject(target) || typeof target.url !== 'string' || typeof target.thumbprint !== 'string') {
    throw new InvalidScriptJobError('target must be { name?, url, thumbprint } with url and thumbprint strings');
  }
  optional(target, 'name', 'string', 'target');
  if (!isObject(script) || typeof script.body !== 'string') throw new InvalidScriptJobError('script must be an object with a string body');
  for (const key of ['mutexName', 'taskId'] as const) optional(script, key, 'string', 'script');
  for (const key of ['mutexTimeoutMs', 'timeoutMs'] as const) optional(script, key, 'number', 'script');
  if (script.syntax !== undefined && script.syntax !== 'bash' && script.syntax !== 'powershell') throw new InvalidScriptJobError("script.syntax must be 'bash' or 'powershell'");
  if (script.isolation !== undefined && script.isolation !== 'none' && script.isolation !== 'full') throw new InvalidScriptJobError("script.isolation must be 'none' or 'full'");
  stringList(script.arguments, 'script.arguments');
  if (script.files !== undefined) {
    if (!Array.isArray(script.files)) throw new InvalidScriptJobError('script.files must be a list');
    script.files.forEach((f: unknown, i) => {
      const ok = isObject(f) && typeof f.name === 'string' && (typeof f.text === 'string') !== (typeof f.base64 === 'string');
      if (!ok) throw new InvalidScriptJobError(`script.files[${i}] must be { name, text } or { name, base64 }`);
    });
  }
  if (uploads !== undefined) {
    if (!Array.isArray(uploads)) throw new InvalidScriptJobError('uploads must be a list');
    uploads.forEach((u: unknown, i) => {
      if (!isObject(u) || typeof u.from !== 'string' || typeof u.to !== 'string') throw new InvalidScriptJobError(`uploads[${i}] must be { from, to }`);
    });
  }
  return data as unknown as ScriptJobData;
}

/** The job's script as runScript takes it (without ticket, signal or watch options, which the worker adds). */
export function runOptionsOf(script: ScriptJobScript): RunScriptOptions {
  const files: ScriptFileInput[] | undefined = script.files?.map((f) => ({
    name: f.name,
    contents: f.text ?? Buffer.from(f.base64 ?? '', 'base64'),
  }));
  const options: RunScriptOptions = { body: script.body };
  if (script.syntax !== undefined) options.syntax = script.syntax;
  if (script.arguments !== undefined) options.arguments = script.arguments;
  if (files !== undefined) options.files = files;
  if (script.isolation !== undefined) options.isolation = script.isolation;
  if (script.mutexName !== undefined) options.mutexName = script.mutexName;
  if (script.mutexTimeoutMs !== undefined) options.mutexTimeoutMs = script.mutexTimeoutMs;
  if (script.taskId !== undefined) options.taskId = script.taskId;
  if (script.timeoutMs !== undefined) options.timeoutMs = script.timeoutMs;
  return options;
}
