/** A figure measured over several rounds. */
export interface Stats {
  median: number;
  min: number;
  max: number;
}

export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `fn` repeatedly for `ms` milliseconds; returns operations per second and each operation's latency (ms). */
export async function forDuration(ms: number, fn: () => Promise<void>): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  const start = performance.now();
  while (performance.now() - start < ms) {
    const t = performance.now();
    await fn();
    latencies.push(performance.now() - t);
  }
  return { perSecond: latencies.length / ((performance.now() - start) / 1000), latencies };
}

/** `workers` loops running `fn` concurrently for `ms` milliseconds; returns operations per second. */
export async function concurrently(workers: number, ms: number, fn: (worker: number) => Promise<void>): Promise<number> {
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (performance.now() - start < ms) {
        await fn(w);
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** Runs `fn` once for every item, at most `limit` at a time; returns how long that took (ms). */
export async function eachInFlight<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
  return performance.now() - start;
}

/**
 * `warmup` untimed runs of each, then `rounds` rounds of `ms` milliseconds of `ours` and of `baseline` in turn:
 * operations per second of each per round, and the latencies of `ours`. `oursRound`, when given, is called before
 * and after each timed round of `ours`, for a figure of its own gathered during the round.
 */
export async function againstBaseline(
  rounds: number,
  ms: number,
  warmup: number,
  ours: () => Promise<void>,
  baseline: () => Promise<void>,
  oursRound?: (edge: 'start' | 'end') => void,
): Promise<{ ours: number[]; baseline: number[]; latencies: number[] }> {
  for (let i = 0; i < warmup; i++) {
    await ours();
    await baseline();
  }
  const out = { ours: [] as number[], baseline: [] as number[], latencies: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    oursRound?.('start');
    const o = await forDuration(ms, ours);
    oursRound?.('end');
    out.ours.push(o.perSecond);
    out.latencies.push(...o.latencies);
    out.baseline.push((await forDuration(ms, baseline)).perSecond);
  }
  return out;
}
