/**
 * Transfer progress on standard error: one bar redrawn in place on a terminal, and a few plain lines otherwise
 * (a CI log should show that a transfer moves without getting a line per 64 KiB). Standard output stays free for
 * the result, so `halibut upload … | …` pipes only the SHA-1.
 */
import type { TransferProgress } from '../index.js';
import type { CliIo } from './io.js';

/** Receives the library's progress callbacks and, at the end, the final count. */
export interface ProgressReporter {
  update(progress: TransferProgress): void;
  /** Draws the last state and ends the line; call once, after the transfer succeeded. */
  finish(bytes: number): void;
  /** Ends a bar line without a summary, so that an error message starts on a line of its own. */
  abandon(): void;
}

export interface ProgressOptions {
  /** `uploading` or `downloading`: the verb in the progress lines. */
  verb: string;
  /** `uploaded` or `downloaded`: the verb in the summary. */
  done: string;
  /** What is moving, as the user named it. */
  label: string;
  /** A bar with `\r` (terminal) or plain lines. */
  tty: boolean;
  /** Milliseconds, monotonic; replaceable for tests of the formatting. */
  now?: () => number;
}

/** Plain lines: one each time another tenth of the total has moved. */
const LINE_STEP_FRACTION = 0.1;
/** Plain lines when the total is unknown: one per this many bytes. */
const LINE_STEP_BYTES = 16 * 1024 * 1024;
/** The bar is redrawn at most this often; a faster terminal update is only flicker. */
const BAR_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

/** A reporter writing to `io.err`; does nothing when `quiet`. */
export function progressReporter(io: Pick<CliIo, 'err'>, options: ProgressOptions, quiet = false): ProgressReporter {
  if (quiet) return { update: () => undefined, finish: () => undefined, abandon: () => undefined };
  const now = options.now ?? (() => performance.now());
  const started = now();
  let total: number | undefined;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  let nextLineAt = 0;

  const rate = (bytes: number): number => {
    const seconds = (now() - started) / 1000;
    return seconds > 0 ? bytes / seconds : 0;
  };

  const bar = (bytes: number): string => {
    const fraction = total === undefined || total === 0 ? undefined : Math.min(1, bytes / total);
    const perSecond = rate(bytes);
    const parts: string[] = [];
    if (fraction !== undefined) {
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`);
    }
    parts.push(total === undefined ? formatBytes(bytes) : `${formatBytes(bytes)} / ${formatBytes(total)}`);
    if (perSecond > 0) parts.push(`${formatBytes(perSecond)}/s`);
    if (total !== undefined && perSecond > 0 && bytes < total) parts.push(`ETA ${formatDuration((total - bytes) / perSecond)}`);
    return `${options.verb} ${options.label} ${parts.join('  ')}`;
  };

  const draw = (bytes: number): void => {
    // \x1b[K clears what a longer previous line left to the right.
    io.err(`\r${bar(bytes)}\x1b[K`);
    drawn = true;
    lastDraw = now();
  };

  const line = (bytes: number): void => {
    const of = total === undefined ? '' : ` of ${formatBytes(total)}`;
    const percent = total === undefined || total === 0 ? '' : `${Math.floor((Math.min(bytes, total) / total) * 100)}% `;
    io.err(`${options.verb} ${options.label}: ${percent}(${formatBytes(bytes)}${of})\n`);
  };

  return {
    update(progress) {
      total = progress.total ?? total;
      if (options.tty) {
        if (now() - lastDraw >= BAR_INTERVAL_MS) draw(progress.bytes);
        return;
      }
      const step = total === undefined || total === 0 ? LINE_STEP_BYTES : total * LINE_STEP_FRACTION;
      if (nextLineAt === 0) nextLineAt = step;
      // The final count gets its own summary line from finish(), so the 100% line is not printed here.
      if (progress.bytes >= nextLineAt && (total === undefined || progress.bytes < total)) {
        line(progress.bytes);
        while (nextLineAt <= progress.bytes) nextLineAt += step;
      }
    },
    finish(bytes) {
      total ??= bytes;
      if (options.tty) {
        draw(bytes);
        io.err('\n');
      }
      const seconds = (now() - started) / 1000;
      const perSecond = seconds > 0 ? ` (${formatBytes(bytes / seconds)}/s)` : '';
      io.err(`${options.done} ${options.label}: ${formatBytes(bytes)} in ${formatDuration(seconds)}${perSecond}\n`);
    },
    abandon() {
      if (options.tty && drawn) io.err('\n');
    },
  };
}

/** `512 B`, `3.2 KiB`, `4.0 MiB`: binary units, as `ls -h` and `du -h` use. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]!}`;
}

/** `0.4 s`, `12 s`, `3m05s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const whole = Math.round(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m${rest}s` : `${minutes}m${rest}s`;
}
