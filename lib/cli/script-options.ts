/** `run`'s options that say what runs on the agent and how, turned into the library's script options. */
import { DataStream, type RunScriptOptions, type ScriptFileInput } from '../index.js';
import { flag, millisecondsValue, stringValue, type OptionValues } from './command.js';
import { UsageError } from './errors.js';

/** `--powershell`, `--isolation`, `--mutex`, `--mutex-timeout`, `--script-timeout`. */
export function scriptOptions(values: OptionValues): Omit<RunScriptOptions, 'body'> {
  const options: Omit<RunScriptOptions, 'body'> = { syntax: flag(values, 'powershell') ? 'powershell' : 'bash' };
  const isolation = stringValue(values, 'isolation');
  if (isolation !== undefined) {
    if (isolation !== 'full' && isolation !== 'none') throw new UsageError(`--isolation must be full or none (got '${isolation}')`, 'run');
    options.isolation = isolation;
  }
  const mutex = stringValue(values, 'mutex');
  if (mutex !== undefined) {
    if (mutex.trim() === '') throw new UsageError('--mutex needs a name', 'run');
    options.mutexName = mutex;
  }
  if (stringValue(values, 'mutex-timeout') !== undefined) options.mutexTimeoutMs = millisecondsValue(values, 'mutex-timeout', 0, 'run');
  if (stringValue(values, 'script-timeout') !== undefined) options.timeoutMs = millisecondsValue(values, 'script-timeout', 0, 'run');
  return options;
}

/** `--file NAME=PATH` values as files for the working directory, each read from disk when it is sent. */
export function scriptFiles(specs: readonly string[]): ScriptFileInput[] {
  return specs.map((spec) => {
    const at = spec.indexOf('=');
    const name = at < 0 ? '' : spec.slice(0, at);
    const path = at < 0 ? '' : spec.slice(at + 1);
    if (name === '' || path === '') throw new UsageError(`--file takes NAME=LOCALPATH (got '${spec}')`, 'run');
    return { name, contents: DataStream.fromFile(path) };
  });
}
