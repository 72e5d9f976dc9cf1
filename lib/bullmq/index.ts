/**
 * `halibut-client/bullmq`: scripts on listening Tentacles as BullMQ jobs, run once per job across worker processes
 * and machines, even when a worker dies while its script runs. A job names an agent and a script; its V2 ticket is
 * made from the job (scriptJobTicket), so every attempt attaches to the same run on the agent instead of starting it
 * again. The core never loads this module or `bullmq` (an optional peer dependency). See docs/scaling.md.
 *
 * @packageDocumentation
 */
export { addScriptJob, SCRIPT_JOB_DEFAULTS, type AddScriptJobOptions, type ScriptJobQueue } from './add-job.js';
export { InvalidScriptJobError, ScriptJobCancelledError, ScriptJobFailedError, ScriptJobOutcomeUnknownError } from './errors.js';
export { checkScriptJobData, type ScriptJobData, type ScriptJobFile, type ScriptJobScript, type ScriptJobTarget, type ScriptJobUpload } from './job-data.js';
export { createScriptJobProcessor, type ScriptJob, type ScriptJobProcessor, type ScriptJobProcessorOptions } from './processor.js';
export { DEFAULT_TICKET_PREFIX, scriptJobTicket, type ScriptJobIdentity } from './ticket.js';
export type { ScriptJobLine, ScriptJobProgress, ScriptJobResult } from './types.js';
