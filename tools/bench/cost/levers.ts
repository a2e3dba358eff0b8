import { type Bill, K, type MeasuredUnits, serverlessBill, type Workload } from './model';

/**
 * The snapshot as built, and the parts of it docs/snapshot.md weighs keeping out of Redis ("What a
 * chunk costs in Redis"). None but `asBuilt` exists in the product: the bench prices them from its
 * measured units so the choice rests on figures.
 */
export type Lever = 'asBuilt' | 'float32Out' | 'textsOut' | 'bothOut';

export const LEVERS: Lever[] = ['asBuilt', 'float32Out', 'textsOut', 'bothOut'];

/** What pricing the levers takes beyond the measured units of the modes. */
export type LeverUnits = {
  /** Redis bytes a chunk of the float32 vector segments (MEMORY USAGE). */
  vectorBytesPerChunk: number;
  /**
   * Rows whose float32 vectors a search re-scores after its int8 scan, all rounds included, measured at
   * bot sizes: [chunks, rows], ascending.
   */
  candidatesPerSearch: [number, number][];
};

/**
 * Rows a search of a bot of `chunks` re-scores: as measured at that size, else at the largest measured
 * size under it (the re-score grows with the bot), else at the smallest measured.
 */
export function candidatesAt(l: LeverUnits, chunks: number): number {
  const measured = l.candidatesPerSearch;
  if (measured.length === 0) throw new Error('no measured re-score counts');
  let found = measured[0] as [number, number];
  for (const point of measured) if (point[0] <= chunks) found = point;
  return found[1];
}

/**
 * A DynamoDB round trip a search would add (assumed, not measured: DynamoDB Local's pace is not
 * DynamoDB's). It replaces the Redis read of the hits' texts, which the handler's own time already holds.
 */
export const DYNAMO_ROUND_TRIP_MS = 5;

/** Read units of one item a consistent BatchGetItem returns: each item rounds up to 4 KB on its own. */
export const itemReadUnits = (u: MeasuredUnits): number => Math.ceil(u.dynamoItemBytes / 4096);

/**
 * The units of the snapshot-on-ElastiCache mode with `lever` applied, for a workload `w`:
 * - `float32Out`: Redis keeps no float32 vectors; a search reads its candidates' items (a consistent
 *   BatchGetItem, 100 items a request) for their vectors, and those items carry the hits' texts, so it
 *   reads no text from Redis (the texts stay there for keyword search);
 * - `textsOut`: Redis keeps no texts; a search reads its k hits' items for their texts;
 * - `bothOut`: neither; a search reads its candidates' items.
 */
export function leverUnits(w: Workload, u: MeasuredUnits, l: LeverUnits, lever: Lever): MeasuredUnits {
  if (lever === 'asBuilt') return u;
  const dropsVectors = lever !== 'textsOut';
  const dropsTexts = lever !== 'float32Out';
  const itemsRead = dropsVectors ? candidatesAt(l, w.chunksPerBot) : K;
  return {
    ...u,
    redisBytesPerChunk:
      u.redisBytesPerChunk -
      (dropsVectors ? l.vectorBytesPerChunk : 0) -
      (dropsTexts ? u.textBytesPerChunk : 0),
    // No search reads a text from Redis: the items it reads carry them.
    textBytesPerChunk: 0,
    rruPerSnapshotSearch: u.rruPerSnapshotSearch + itemsRead * itemReadUnits(u),
    handlerOverheadMs: u.handlerOverheadMs + DYNAMO_ROUND_TRIP_MS,
  };
}

/** The ElastiCache Serverless bill of `w` with `lever` applied. */
export function leverBill(w: Workload, u: MeasuredUnits, l: LeverUnits, lever: Lever): Bill {
  return serverlessBill(w, leverUnits(w, u, l, lever));
}
