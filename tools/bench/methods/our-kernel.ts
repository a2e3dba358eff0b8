import { exactSearch, MetricKind } from 'usearch';
import { type QuantisedMatrix, quantiseMatrix } from '../../../src/domain/ranking/int8-codes';
import {
  normalise,
  ScoreBuffer,
  type TopKKernel,
  topKByDotProduct,
} from '../../../src/domain/ranking/scoring';
import type { SearchMethod } from './method';

/**
 * (g) and (g, JS): the product's scoring step alone (`topKByDotProduct`, src/domain/ranking/scoring.ts) over the
 * same in-memory vectors as (e), ids only: with the native int8 kernel and its exact re-score, or with
 * the portable JavaScript loop (no kernel). The query is normalised inside the timing, as search does.
 */
export function ourKernel(
  vectors: Float32Array,
  dimension: number,
  chunkIds: string[],
  kernel: TopKKernel | undefined,
): SearchMethod {
  const scores = new ScoreBuffer();
  const idOf = (row: number) => chunkIds[row] as string;
  return {
    async search(query, k) {
      const unit = normalise(query) as Float64Array;
      const top = topKByDotProduct(vectors, dimension, chunkIds.length, unit, idOf, {
        k,
        scores,
        ...(kernel === undefined ? {} : { kernel }),
      });
      return top.map((hit) => idOf(hit.ref));
    },
  };
}

/**
 * (e, i8): usearch's `exactSearch` over the int8 copy our kernel scans (the same quantisation), without
 * a re-score: the raw speed of an int8 scan, and what it costs in recall when nothing checks it.
 */
export function usearchExactI8(vectors: Float32Array, dimension: number, chunkIds: string[]): SearchMethod {
  const matrix: QuantisedMatrix = quantiseMatrix(vectors, dimension, chunkIds.length);
  const codes = new Int8Array(dimension);
  return {
    async search(query, k) {
      let maxAbs = 0;
      for (const x of query) maxAbs = Math.max(maxAbs, Math.abs(x));
      for (let i = 0; i < dimension; i++) codes[i] = Math.round(((query[i] as number) * 127) / maxAbs);
      const matches = exactSearch(matrix.codes, codes, dimension, k, MetricKind.IP, 1);
      return Array.from(matches.keys, (key) => chunkIds[Number(key)] as string);
    },
  };
}
