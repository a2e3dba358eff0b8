import { isShown, type VersionedChunk, visibleVersions } from '../../../domain/document-version';
import type { FusedScore } from '../../../domain/ranking/fusion';
import { type RankedAnswer, type RankOptions, rankerFor, shape, toHit } from '../../../domain/ranking/hits';
import { rankChunkKeywords } from '../../../domain/ranking/keyword-rows';
import type { Ranked } from '../../../domain/ranking/ranker';
import { unitVector32 } from '../../../domain/ranking/scoring';
import { ChunkRanker } from '../../../domain/ranking/vector-rows';
import { type CompiledFilter, withExpiry } from '../../../domain/search-filter';
import type { StoredChunk } from '../../../domain/types';
import { CacheUnavailableError } from '../../../errors';
import { rebuildSink } from '../../../snapshot';
import type { QueryPlan, SearchDeps } from '../plan';

/**
 * The exact answer from a strongly consistent read of every chunk of the bot. When this search wins the
 * bot's rebuild slot, the same read (with texts) also rebuilds the snapshot; `beginRebuild` runs before
 * the read so that stream changes landing during it are recorded and re-read by `commitRebuild`. When
 * another rebuild holds the slot, the read skips texts and fetches them for the results only.
 */
export async function fromDynamoDb(
  deps: SearchDeps,
  botId: string,
  epoch: number,
  plan: QueryPlan,
  filter: CompiledFilter | null,
  options: RankOptions,
  redisUp: boolean,
): Promise<RankedAnswer> {
  // Every chunk is read here anyway: testing each one's expiry costs nothing next to the read.
  filter = withExpiry(filter, plan.now);
  const snapshots = redisUp ? deps.snapshots : null;
  let ticket = null;
  if (snapshots !== null) {
    try {
      ticket = await snapshots.beginRebuild(botId, epoch);
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) {
        deps.logger.warn('Could not start a snapshot rebuild', { botId, error });
      }
    }
  }
  const everyChunk: StoredChunk[] = [];
  // Keyword statistics cover every chunk, so a keyword query keeps (and reads the text of) all of them;
  // a rebuild reads texts too, and stages page by page when the store can (rebuild-sink.ts).
  const keepAll = plan.keywords !== null;
  const sink =
    ticket !== null && snapshots !== null
      ? rebuildSink(deps, snapshots, ticket, plan.dimension, keepAll ? everyChunk : null)
      : null;
  // Which version of each document may be returned is known only once every chunk was seen
  // (document-version.ts): the first read ranks every chunk and notes versions; when it met a chunk of a
  // version not shown, a second read ranks only the versions the first one found shown.
  const versions: VersionedChunk[] = [];
  const rankRead = async (shown: ReadonlyMap<string, string | null> | null) => {
    const ranker = new ChunkRanker(plan.unit, plan.examples, plan.dimension, filter, options);
    for await (const page of deps.chunks.readBot(botId, {
      consistent: true,
      withText: shown === null && (keepAll || sink !== null),
      onInvalid: (chunkId, error) =>
        deps.logger.warn('Skipping a chunk with an invalid embedding', { botId, chunkId, error }),
    })) {
      if (shown === null) await sink?.add(page);
      for (const chunk of page) {
        if (shown === null && chunk.embedding.length === plan.dimension) {
          versions.push({ filename: chunk.filename, chunk_index: chunk.chunk_index, version: chunk.version });
        }
        if (keepAll) {
          if (shown === null) everyChunk.push(chunk);
          continue;
        }
        if (shown !== null && !isShown(chunk, shown)) continue;
        ranker.offer(chunk);
      }
    }
    return ranker;
  };
  let ranker = await rankRead(null);
  // Whether the ranked chunks came with their texts (the second read leaves them out).
  let withTexts = keepAll || sink !== null;
  if (!keepAll) {
    const shown = visibleVersions(versions);
    if (versions.some((chunk) => !isShown(chunk, shown))) {
      ranker = await rankRead(shown);
      withTexts = false;
    }
  }
  const vectorOf = (chunk: StoredChunk) =>
    options.withVectors === true ? unitVector32(chunk.embedding) : undefined;

  let ranked: Ranked<StoredChunk>;
  let scoresOf: ((chunk: StoredChunk) => FusedScore) | undefined;
  let matches: { keywordMatches: number } | object = {};
  if (plan.keywords === null) {
    ranked = ranker.finish();
  } else {
    const { ranking, kept } = rankChunkKeywords(
      everyChunk,
      plan.dimension,
      plan.unit,
      plan.keywords,
      filter,
      rankerFor<number>(options),
      options.scoreThreshold,
    );
    const asChunk = (row: number) => kept[row] as StoredChunk;
    const rowOf = new Map(ranking.ranked.hits.map((hit) => [asChunk(hit.ref), hit.ref]));
    ranked = {
      hits: ranking.ranked.hits.map((hit) => ({ ...hit, ref: asChunk(hit.ref) })),
      groups: ranking.ranked.groups?.map((group) => ({
        id: group.id,
        hits: group.hits.map((hit) => ({ ...hit, ref: asChunk(hit.ref) })),
      })),
    };
    scoresOf = (chunk) => ranking.scoresOf(rowOf.get(chunk) as number);
    matches = { keywordMatches: ranking.keywordMatches };
  }
  await sink?.finish();
  if (withTexts) {
    return {
      ...shape(ranked, (chunk, score) => toHit(chunk, chunk.text, score, vectorOf(chunk), scoresOf?.(chunk))),
      ...matches,
    };
  }
  const withText =
    ranked.hits.length === 0
      ? []
      : await deps.chunks.get(
          botId,
          ranked.hits.map((hit) => hit.ref.chunk_id),
          { consistent: true },
        );
  const textById = new Map(withText.map((chunk) => [chunk.chunk_id, chunk.text]));
  // A chunk deleted between the two reads is gone: leave it out rather than return it without text.
  return shape(ranked, (chunk, score) => {
    const text = textById.get(chunk.chunk_id);
    return text === undefined ? undefined : toHit(chunk, text, score, vectorOf(chunk));
  });
}
