import { exactSearch, MetricKind } from 'usearch';
import type { SearchMethod } from './method';

/**
 * (e) The compute reference: usearch's brute-force `exactSearch` (SIMD, native) over the same packed
 * vectors already in memory, inner product (the vectors are unit length, so it ranks as cosine does).
 * One thread, like our scoring loop. It returns row numbers only: no text, no metadata.
 */
export function usearchExact(vectors: Float32Array, dimension: number, chunkIds: string[]): SearchMethod {
  return {
    async search(query, k) {
      const matches = exactSearch(vectors, query, dimension, k, MetricKind.IP, 1);
      return Array.from(matches.keys, (key) => chunkIds[Number(key)] as string);
    },
  };
}
