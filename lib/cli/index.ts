/** The command-line tool as a module: run it with your own I/O (tests, or embedding it in another tool). */
export { runCli } from './run-cli.js';
export { processIo, type CliIo } from './io.js';
export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export { CheckFailedError, TargetsFileError, UsageError } from './errors.js';
export type { ProbeReport, ProbeStep } from './commands/probe.js';
