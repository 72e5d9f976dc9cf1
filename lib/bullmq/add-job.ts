/** Adding script jobs to a queue, checked. */
import type { Job, JobsOptions, Queue } from 'bullmq';
import { checkScriptJobData, type ScriptJobData } from './job-data.js';
import type { ScriptJobResult } from './types.js';

/** What addScriptJob needs of a queue: BullMQ's `Queue` has it. */
export type ScriptJobQueue = Pick<Queue<ScriptJobData, ScriptJobResult>, 'add'>;

/** BullMQ's job options, and the job's name. */
export interface AddScriptJobOptions extends JobsOptions {
  /** The job's name (BullMQ's, for dashboards). Default `script`. */
  name?: string;
}

/**
 * The options every script job gets unless told otherwise: three attempts, one second apart and doubling, so that an
 * agent that cannot be reached for a moment does not fail the job. A worker that dies is another matter: BullMQ
 * hands its jobs to another worker (stalled-job detection) without counting an attempt.
 */
export const SCRIPT_JOB_DEFAULTS: Readonly<JobsOptions> = Object.freeze({ attempts: 3, backoff: { type: 'exponential', delay: 1000 } });

/**
 * Adds a script job: `data` names the agent and the script (and files to upload first). The data is checked
 * before anything reaches Redis.
 *
 * @throws InvalidScriptJobError for data that is not a script job's.
 */
export async function addScriptJob(queue: ScriptJobQueue, data: ScriptJobData, options: AddScriptJobOptions = {}): Promise<Job<ScriptJobData, ScriptJobResult>> {
  checkScriptJobData(data);
  const { name = 'script', ...jobOptions } = options;
  return queue.add(name, data, { ...SCRIPT_JOB_DEFAULTS, ...jobOptions });
}
