import { SEARCH_DEADLINE_MS } from '../../contracts/response-limits';
import { ScoreBuffer } from '../../domain/ranking/scoring';
import { CacheUnavailableError, UnavailableError } from '../../errors';
import { withDeadline } from '../../machinery/deadline';
import { FallbackGate } from './fallback-gate';
import { fromSnapshot, type SnapshotAnswerDeps, type SourceDown } from './from-snapshot';
import { planSearch, type SearchDeps, type SearchOptions, type SearchResult } from './plan';
import { fromDynamoDb } from './sources/dynamodb';

/** Search as its callers see it: one function over injected ports. */
export type Search = (
  botId: string,
  embedding: ArrayLike<number> | undefined,
  options: SearchOptions,
) => Promise<SearchResult>;

/**
 * Builds `search(botId, embedding, options)`: the top `limit` chunks of the bot by cosine similarity,
 * best first, ties by ascending chunk_id, among the chunks that pass the filter (applied before top-k);
 * or, with `groupBy`, the best `limit` documents with their best chunks; or, with `mmr`, a diverse
 * `limit` of the best `candidates`. A search is planned (plan.ts), then a source gives the rows to rank:
 * the snapshot (held in process, or read from Redis, per version) when a current one exists; otherwise a
 * consistent, paginated read of DynamoDB, rebuilding the snapshot from that same read (one rebuild per bot
 * at a time). Both rank through src/domain/ranking/, so they agree. A failing Redis never fails a search:
 * it is logged and DynamoDB answers; a failure of ranking is not Redis being away and is thrown. Full
 * DynamoDB reads go through the container's `FallbackGate`: concurrent searches of one bot share the first
 * one's read (and the snapshot it rebuilds), and searches beyond its bounds are shed.
 * With `examples` (recommend, or search by chunk id) the query is built from those stored chunks
 * (example-vectors.ts), which are left out of the results.
 * @throws NotFoundError for a bot without a record, or example chunk ids the bot does not hold.
 * @throws UnavailableError when the fallback gate sheds the search, or it runs past its deadline.
 * @throws ValidationError (field `embedding`) when the embedding's length is not the bot's dimension or it
 * is all zeros.
 */
export function makeSearch(given: SearchDeps): Search {
  const deps: SearchDeps = { keywordScores: new ScoreBuffer(), fallback: new FallbackGate(), ...given };
  const gate = deps.fallback as FallbackGate;
  const deadlineMs = deps.deadlineMs ?? SEARCH_DEADLINE_MS;
  const { snapshots, cache } = deps;
  const snapshotDeps: SnapshotAnswerDeps | null =
    snapshots === null || cache === null ? null : { ...deps, snapshots, cache };
  const answer: Search = async (botId, given, options) => {
    const { bot, plan, filter } = await planSearch(deps, botId, given, options);
    const epoch = bot.snapshot_epoch ?? 0;
    // Memory mode: the version is on the bot's item just read, so checking the held copy costs nothing.
    const known = snapshots?.versionOf(bot);
    const snapshotAnswer = async (): Promise<SearchResult | null | SourceDown> => {
      if (snapshotDeps === null) return null;
      const answer = await fromSnapshot(snapshotDeps, botId, epoch, plan, filter, options, known);
      return answer === null || 'down' in answer ? answer : { ...answer, source: 'snapshot' };
    };

    const first = await snapshotAnswer();
    if (first !== null && !('down' in first)) return first;
    const redisUp = snapshotDeps !== null && first === null;
    // A known outage was reported once by the circuit breaker; only a surprise is worth a line.
    if (first !== null && !(first.down instanceof CacheUnavailableError)) {
      deps.logger.warn('Redis unavailable; searching DynamoDB', { botId, error: first.down });
    }
    // Once another search's read of this bot ends, the snapshot it rebuilt may answer this one.
    const again = redisUp
      ? async () => {
          const answer = await snapshotAnswer();
          return answer === null || 'down' in answer ? null : answer;
        }
      : null;
    return gate.run<SearchResult>(
      botId,
      async () => ({
        ...(await fromDynamoDb(deps, botId, epoch, plan, filter, options, redisUp)),
        source: 'dynamodb' as const,
      }),
      again,
    );
  };
  // Past the deadline a search answers 503 rather than running on towards API Gateway's 29 s (or, in
  // serverless-offline, for as long as an overloaded DynamoDB read takes). Its work is not stopped: a
  // full read under way still rebuilds the snapshot, and the bot's next searches wait for it.
  return (botId, given, options) =>
    withDeadline(answer(botId, given, options), deadlineMs, () => {
      throw new UnavailableError(
        `search of bot ${botId} ran past its ${deadlineMs / 1000} s deadline; send the request again later`,
        'deadline',
        1,
      );
    });
}
