/**
 * A search answered from the bot's snapshot: a source gives rows (the held copy, the int8 scan's
 * candidates, or the current snapshot), ranking orders them (src/domain/ranking/, pure), and the source
 * gives the ranked rows' texts. Only reads go through `read`: a read that fails is the snapshot being
 * away (the search falls back to DynamoDB); ranking runs outside it, so a failure there is thrown.
 */
import { type RankedAnswer, type RankOptions, rankerFor, shape, toHit } from '../../domain/ranking/hits';
import { prepareKeywordRows, rankKeywordRows } from '../../domain/ranking/keyword-rows';
import type { ScoreBuffer, TopKKernel } from '../../domain/ranking/scoring';
import { rankVectorCandidates, rankVectorRows } from '../../domain/ranking/vector-rows';
import type { CompiledFilter } from '../../domain/search-filter';
import type { SearchHit } from '../../domain/types';
import type { QueryPlan } from './plan';
import { type ScanCandidates, scanCandidates } from './sources/scan';
import {
  currentRows,
  peekedRows,
  type SnapshotRows,
  type SnapshotSourceDeps,
  snapshotHits,
} from './sources/snapshot';

/** A source's read that failed (Redis away, or the breaker open): the search falls back to DynamoDB. */
export type SourceDown = { down: unknown };

function isDown(value: unknown): value is SourceDown {
  return typeof value === 'object' && value !== null && 'down' in value;
}

/** The read's value, or what it failed with. */
async function read<T>(reading: () => T | Promise<T>): Promise<T | SourceDown> {
  try {
    return await reading();
  } catch (error) {
    return { down: error };
  }
}

/** What answering from a snapshot needs of the search's dependencies. */
export type SnapshotAnswerDeps = SnapshotSourceDeps & {
  scores: ScoreBuffer;
  keywordScores?: ScoreBuffer | undefined;
  /** The native exact scan: ranks held rows, and gives the int8 scan its candidates. */
  kernel?: TopKKernel | undefined;
};

/**
 * The answer from the current snapshot; null when there is none or it cannot answer (DynamoDB answers);
 * the failure of a read when the snapshot's store is away.
 * @throws whatever ranking throws (a bug, not the store being away).
 */
export async function fromSnapshot(
  deps: SnapshotAnswerDeps,
  botId: string,
  epoch: number,
  plan: QueryPlan,
  filter: CompiledFilter | null,
  options: RankOptions,
  known: { version: string; epoch: number } | undefined,
): Promise<RankedAnswer | null | SourceDown> {
  // Warm: the copy held in process answers, and its version is confirmed in one round trip. Moved since:
  // forget it and take the checked path.
  const peeked = await read(() => peekedRows(deps, botId, epoch, plan, filter, known));
  if (peeked === null || isDown(peeked)) return peeked;
  if (peeked !== 'none') {
    const answer = await answerFromRows(deps, botId, peeked, plan, options);
    if (answer === 'moved') deps.cache.forget(botId);
    // 'unscored': the query's keyword scores are not at hand at the held copy's version.
    else if (answer !== 'unscored') return answer;
  }
  if (plan.unit !== null && plan.keywords === null && filter === null && options.groupBy === undefined) {
    // A plain vector query needs only the int8 codes and its candidates' rows (sources/scan.ts).
    const unit = plan.unit;
    const scan = await read(() =>
      scanCandidates(deps, botId, epoch, unit, plan.dimension, options, plan.now),
    );
    if (isDown(scan)) return scan;
    if (scan === 'absent') return null;
    if (scan !== 'whole') return answerFromCandidates(deps, botId, scan, unit, options);
  }
  const rows = await read(() => currentRows(deps, botId, epoch, plan, filter, known));
  if (rows === null || isDown(rows)) return rows;
  const answer = await answerFromRows(deps, botId, rows, plan, options);
  // `currentRows` confirmed the version (its texts never report a move) and read the scores.
  return answer === 'moved' || answer === 'unscored' ? null : answer;
}

async function answerFromRows(
  deps: SnapshotAnswerDeps,
  botId: string,
  rows: SnapshotRows,
  plan: QueryPlan,
  options: RankOptions,
): Promise<RankedAnswer | 'moved' | 'unscored' | null | SourceDown> {
  if (rows.bm25 === null || plan.keywords === null) {
    const query = plan.examples ?? (plan.unit as Float64Array);
    const ranked = rankVectorRows(rows.held, query, rows.filter, options, deps.scores, deps.kernel);
    const answer = await read(() => snapshotHits(rows, ranked, options));
    if (answer === null) {
      deps.cache.forget(botId);
      deps.logger.warn('Snapshot texts missing; searching DynamoDB', { botId });
    }
    return answer;
  }
  // Everything but the scores first (for a hybrid query, the first vector scan), while they are read.
  const prepared = prepareKeywordRows(
    rows.held,
    plan.unit,
    plan.keywords,
    rows.filter,
    rankerFor<number>(options),
    deps.kernel,
  );
  const bm25 = rows.bm25;
  const scorer = await read(() => bm25);
  if (isDown(scorer)) return scorer;
  if (scorer === undefined) return 'unscored';
  const ranking = rankKeywordRows(prepared, scorer(deps.keywordScores), options.scoreThreshold, deps.scores);
  const answer = await read(() => snapshotHits(rows, ranking.ranked, options, ranking.scoresOf));
  if (answer === null || answer === 'moved' || isDown(answer)) return answer;
  return { ...answer, keywordMatches: ranking.keywordMatches };
}

async function answerFromCandidates(
  deps: SnapshotAnswerDeps,
  botId: string,
  scan: ScanCandidates,
  query: Float64Array,
  options: RankOptions,
): Promise<RankedAnswer | null | SourceDown> {
  const ranked = rankVectorCandidates(scan.top, (slot) => scan.entry(slot).vector, query, options);
  if (ranked.hits.length === 0) return { results: [] };
  const texts = await read(() =>
    deps.snapshots.texts(
      botId,
      ranked.hits.map((hit) => scan.entry(hit.ref).row.chunk_id),
    ),
  );
  if (isDown(texts)) return texts;
  if (texts === null) {
    deps.cache.forget(botId);
    return null;
  }
  const textOf = new Map(ranked.hits.map((hit, i) => [hit.ref, texts[i] as string]));
  return shape(ranked, (slot, score): SearchHit => {
    const { row, vector } = scan.entry(slot);
    return toHit(row, textOf.get(slot) as string, score, options.withVectors === true ? vector : undefined);
  });
}
