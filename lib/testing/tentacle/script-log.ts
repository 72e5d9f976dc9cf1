/**
 * A script's log, kept in memory: what a Tentacle writes to `Output.log` in the workspace and pages out by sequence.
 * Records are numbered from 1; a caller that has seen `k` records asks for those after `k` and is told the new total.
 */
import { ProcessOutputSource, type ProcessOutput } from '../../contracts/index.js';

/**
 * More records than this are not kept: one notice replaces everything after. Far above what any test writes, it
 * only stops a runaway script from filling the test process's memory.
 */
export const MAX_LOG_RECORDS = 1_000_000;

interface LogRecord {
  source: ProcessOutputSource;
  /** Milliseconds since the epoch: a `Date` per record would cost more than the text for short lines. */
  occurred: number;
  text: string;
}

/** A page of the log: the records after the requested sequence and the sequence to ask from next time. */
export interface LogPage {
  logs: ProcessOutput[];
  next: number;
}

export class ScriptLog {
  readonly #records: LogRecord[] = [];
  #truncated = false;
  /** Told of every record as it is appended (the agent copies them to `Output.log`). */
  onRecord: ((source: ProcessOutputSource, occurred: number, text: string) => void) | undefined;

  /** Number of records so far (the last sequence number). */
  get count(): number {
    return this.#records.length;
  }

  append(source: ProcessOutputSource, text: string): void {
    if (this.#truncated) return;
    if (this.#records.length === MAX_LOG_RECORDS - 1) {
      this.#truncated = true;
      text = `The log reached ${MAX_LOG_RECORDS} records; later output is discarded.`;
      source = ProcessOutputSource.Debug;
    }
    const occurred = Date.now();
    this.#records.push({ source, occurred, text });
    this.onRecord?.(source, occurred, text);
  }

  stdout(text: string): void {
    this.append(ProcessOutputSource.StdOut, text);
  }

  stderr(text: string): void {
    this.append(ProcessOutputSource.StdErr, text);
  }

  debug(text: string): void {
    this.append(ProcessOutputSource.Debug, text);
  }

  /** Records with a sequence greater than `lastSequence`; `next` stays at `lastSequence` when there are none. */
  after(lastSequence: number): LogPage {
    const from = Math.max(0, lastSequence);
    if (from >= this.#records.length) return { logs: [], next: lastSequence };
    const logs = this.#records.slice(from).map((r) => ({ Source: r.source, Occurred: new Date(r.occurred), Text: r.text }));
    return { logs, next: this.#records.length };
  }
}
