/** The shape every command has, and reading parsed options without losing type safety. */
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';
import type { CliIo } from './io.js';

/** Option definitions, as `node:util` parseArgs takes them. */
export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** Parsed option values, as parseArgs returns them. */
export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** What a command receives after parsing. */
export interface CommandInput {
  values: OptionValues;
  /** Positional arguments before `--`. */
  positionals: string[];
  /** Arguments after `--`, passed on untouched (used by `run`). */
  rest: string[];
}

/** One `halibut` command. */
export interface Command {
  /** As typed: `probe`, `cert new`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text (usage, description, options, examples). */
  help: string;
  /**
   * True when `--json` prints JSON Lines, each with a `type` (`run`'s log lines and result): a failure is then
   * printed as `{ "type": "error", "ok": false, "error": … }`, so that every line says what it is.
   */
  jsonLines?: boolean;
  /** Options besides `--help` and `--json`, which every command has. */
  options: OptionSpecs;
  /** Does the work; resolves to the process exit code. Throws for failures (see run-cli.ts for the mapping). */
  run(input: CommandInput, io: CliIo): Promise<number>;
}

/** A string option's value, if given. */
export function stringValue(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string option's values. */
export function stringList(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

/** Whether a boolean option was given. */
export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** A positive whole number of milliseconds from an option, or the default. */
export function millisecondsValue(values: OptionValues, name: string, fallback: number, command: string): number {
  const text = stringValue(values, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive whole number of milliseconds (got '${text}')`, command);
  return n;
}

/** Exactly `count` positionals, named in the message when they are missing or extra. */
export function requirePositionals(input: CommandInput, names: readonly string[], command: string, optional = 0): string[] {
  const { positionals } = input;
  const required = names.length - optional;
  if (positionals.length < required) throw new UsageError(`Missing ${names.slice(positionals.length, required).join(' and ')}`, command);
  if (positionals.length > names.length) throw new UsageError(`Unexpected argument '${positionals[names.length]!}'`, command);
  return positionals;
}
