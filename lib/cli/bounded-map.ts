/** Working through a list with at most N items in progress, and no new ones started once a signal fires. */

/**
 * Calls `work` for each item, at most `concurrency` at a time, and resolves to the results in the items' order.
 * Once `signal` has fired no more items are started; their places hold `undefined` (the items in progress are
 * expected to watch the same signal, and their results are kept). Rejects as soon as one `work` rejects.
 */
export async function mapBounded<T, R>(items: readonly T[], concurrency: number, signal: AbortSignal, work: (item: T, index: number) => Promise<R>): Promise<Array<R | undefined>> {
  const results = new Array<R | undefined>(items.length).fill(undefined);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!signal.aborted && next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
