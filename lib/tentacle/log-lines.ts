/**
 * Turns a Tentacle's log records into {@link LogLine}s. Tentacle writes `##octopus[stdout-verbose]`,
 * `##octopus[stdout-wait]` and `##octopus[stdout-default]` as lines of their own around its mutex messages; they
 * are level switches, so they set the level of the lines after them and are not shown as output.
 */
import type { ProcessOutput } from '../contracts/dtos.js';
import { ProcessOutputSource } from '../contracts/enums.js';
import type { LogLine } from './types.js';

const LEVEL_MARKER = /^##octopus\[stdout-(default|verbose|wait)\]$/;

const SOURCES: Record<number, LogLine['source']> = {
  [ProcessOutputSource.StdOut]: 'stdout',
  [ProcessOutputSource.StdErr]: 'stderr',
  [ProcessOutputSource.Debug]: 'debug',
};

export class LogLineReader {
  #level: LogLine['level'] = 'default';

  constructor(private readonly keepMarkers: boolean) {}

  /** The lines for a batch of records, the first being record `firstSequence` of the log; markers consumed (unless kept). */
  read(records: readonly ProcessOutput[], firstSequence: number): LogLine[] {
    const lines: LogLine[] = [];
    for (const [i, record] of records.entries()) {
      const marker = LEVEL_MARKER.exec(record.Text.trim());
      if (marker !== null) {
        this.#level = marker[1] as LogLine['level'];
        if (!this.keepMarkers) continue;
      }
      lines.push({ source: SOURCES[record.Source] ?? 'stdout', text: record.Text, time: record.Occurred, level: this.#level, sequence: firstSequence + i });
    }
    return lines;
  }
}
