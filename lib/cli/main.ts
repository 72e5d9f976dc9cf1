/** The `halibut` executable's entry point (bin/halibut.js imports the built copy of this file). */
import { processIo } from './io.js';
import { runCli } from './run-cli.js';

const { io, dispose } = processIo();
const code = await runCli(process.argv.slice(2), io);
dispose();
// exitCode rather than exit(): let stdout drain when it is a pipe.
process.exitCode = code;
