import pLimit from 'p-limit';

/**
 * `worker` over every item, at most `concurrency` at a time (at least one), results in the items' order.
 * Rejects with the first error; the items already started still run to their end.
 */
export function mapLimited<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const limit = pLimit(Math.max(1, Math.floor(concurrency)));
  return Promise.all(items.map((item, index) => limit(() => worker(item, index))));
}
