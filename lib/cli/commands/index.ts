/** Every command, in the order `halibut --help` lists them. */
import type { Command } from '../command.js';
import { agentCommand } from './agent.js';
import { callCommand } from './call.js';
import { certNewCommand } from './cert-new.js';
import { certShowCommand } from './cert-show.js';
import { discoverCommand } from './discover.js';
import { probeCommand } from './probe.js';

export const COMMANDS: readonly Command[] = [probeCommand, discoverCommand, callCommand, certNewCommand, certShowCommand, agentCommand];
