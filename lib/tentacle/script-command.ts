/** Turns runScript's options into the fields of a Tentacle start command. */
import { quoteArguments } from '../contracts/arguments.js';
import type { ScriptFile, StartScriptFields } from '../contracts/dtos.js';
import { ScriptIsolationLevel } from '../contracts/enums.js';
import { DEFAULT_MUTEX_NAME } from '../contracts/services.js';
import { DataStream } from '../protocol/data-stream.js';
import { TimeSpan } from '../protocol/dotnet-values.js';
import type { RunScriptOptions, ScriptFileInput } from './types.js';

/** What Octopus sends for "no limit" on the mutex: int.MaxValue milliseconds. */
const NO_MUTEX_TIMEOUT = TimeSpan.fromMilliseconds(2 ** 31 - 1);

export const DEFAULT_TASK_ID = 'ServerTasks-halibut-client';

function scriptFile(input: ScriptFileInput): ScriptFile {
  const { contents } = input;
  return {
    Name: input.name,
    Contents: contents instanceof DataStream ? contents : DataStream.fromBuffer(contents),
    EncryptionPassword: input.encryptionPassword ?? null,
  };
}

export function startFields(options: RunScriptOptions): StartScriptFields {
  if (typeof options?.body !== 'string') throw new TypeError('runScript needs { body }: the script text');
  const { mutexTimeoutMs } = options;
  if (mutexTimeoutMs !== undefined && (!Number.isFinite(mutexTimeoutMs) || mutexTimeoutMs <= 0)) {
    throw new TypeError(`mutexTimeoutMs must be a positive number of milliseconds (omit it for no limit), got ${mutexTimeoutMs}`);
  }
  return {
    ScriptBody: options.body,
    Isolation: options.isolation === 'full' ? ScriptIsolationLevel.FullIsolation : ScriptIsolationLevel.NoIsolation,
    ScriptIsolationMutexTimeout: mutexTimeoutMs === undefined ? NO_MUTEX_TIMEOUT : TimeSpan.fromMilliseconds(mutexTimeoutMs),
    IsolationMutexName: options.mutexName ?? DEFAULT_MUTEX_NAME,
    // A Linux Tentacle runs the Bash entry, a Windows one the PowerShell entry; ScriptBody is the fallback for both.
    Scripts: options.syntax === 'powershell' ? { PowerShell: options.body } : { Bash: options.body },
    Files: (options.files ?? []).map(scriptFile),
    Arguments: quoteArguments(options.arguments ?? []),
  };
}
