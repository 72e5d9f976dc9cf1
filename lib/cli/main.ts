/** The `halibut` executable's entry point (bin/halibut.js imports the built copy of this file). */
import { ExitCode } from './exit-codes.js';
import { processIo } from './io.js';
import { runCli } from './run-cli.js';

const { io, dispose, stdoutClosed } = processIo();
const code = await runCli(process.argv.slice(2), io);
dispose();
// exitCode rather than exit(): let stdout drain when it is a pipe. A reader that went away is reported the way a
// shell reports a command ended by SIGPIPE.
process.exitCode = stdoutClosed() ? ExitCode.stdoutClosed : code;
