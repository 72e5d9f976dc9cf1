/**
 * The V2 ticket of a job's script: the same for every attempt of one job, different for every other job.
 */
import { createHash } from 'node:crypto';

/** What the ticket of a job is made from: BullMQ's `Job` has these. */
export interface ScriptJobIdentity {
  /** The queue's name. */
  readonly queueName: string;
  /** The job's id. */
  readonly id?: string | undefined;
  /** When the job was added (milliseconds since the epoch); BullMQ keeps it across retries. */
  readonly timestamp: number;
}

/** The prefix scriptJobTicket uses unless told otherwise. */
export const DEFAULT_TICKET_PREFIX = 'bullmq';

const PREFIX = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** Agents compare tickets without regard to case, so only lower case is used as it is. */
const PLAIN = /^[a-z0-9_-]+$/;

/**
 * The ticket a job's script runs under on its agent: `prefix.queue.id.time` (the time in base 36) when the queue
 * name and job id are lower-case letters, digits, `-` and `_` and the whole fits in 128 characters; otherwise
 * `prefix-` and 40 hex digits of a SHA-256 of the three. The two forms never meet (the first has dots, the second
 * none), and the time the job was added keeps a job id that comes again (a job removed and added anew, a Redis
 * that was emptied) from meeting the run of the job that had it before.
 *
 * @throws TypeError for a job without an id, or a prefix that is not 1–32 lower-case letters, digits, `-` or `_`.
 */
export function scriptJobTicket(job: ScriptJobIdentity, prefix: string = DEFAULT_TICKET_PREFIX): string {
  if (!PREFIX.test(prefix)) throw new TypeError(`A ticket prefix is 1 to 32 lower-case letters, digits, '-' or '_', starting with a letter or digit; got ${JSON.stringify(prefix)}`);
  const id = job.id;
  if (id === undefined || id === '') throw new TypeError('The job has no id yet: its ticket is made from its id');
  if (!Number.isSafeInteger(job.timestamp) || job.timestamp < 0) throw new TypeError(`The job's timestamp is not a time: ${String(job.timestamp)}`);
  const time = job.timestamp.toString(36);
  const plain = `${prefix}.${job.queueName}.${id}.${time}`;
  if (PLAIN.test(job.queueName) && PLAIN.test(id) && plain.length <= 128) return plain;
  const digest = createHash('sha256').update(`${job.queueName}\u0000${id}\u0000${time}`).digest('hex').slice(0, 40);
  return `${prefix}-${digest}`;
}
