/** Every command, in the order `halibut --help` lists them. */
import type { Command } from '../command.js';
import { agentCommand } from './agent.js';
import { callCommand } from './call.js';
import { capabilitiesCommand } from './capabilities.js';
import { certNewCommand } from './cert-new.js';
import { certShowCommand } from './cert-show.js';
import { discoverCommand } from './discover.js';
import { downloadCommand } from './download.js';
import { healthCommand } from './health.js';
import { probeCommand } from './probe.js';
import { runCommand } from './run.js';
import { uploadCommand } from './upload.js';

export const COMMANDS: readonly Command[] = [
  probeCommand,
  healthCommand,
  discoverCommand,
  capabilitiesCommand,
  callCommand,
  runCommand,
  uploadCommand,
  downloadCommand,
  certNewCommand,
  certShowCommand,
  agentCommand,
];
