import { checkSearchShape } from '../src/contracts/response-limits';
import { recommendQueryOf, recommendRequestSchema } from '../src/contracts/search-request';
import { parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { countSearchSource, SEARCH_TOO_LARGE, searchResponseBody } from '../src/http/search-response';
import { type SnapshotHttpDeps, snapshotHttpDeps } from '../src/wiring/http-snapshots';

/**
 * POST /bots/{botId}/recommend: the caller's bot's chunks most like the `positive` example chunks and
 * least like the `negative` ones (Qdrant's average_vector or best_score), the examples left out.
 */
export const makeRecommendHandler = (wiring: () => SnapshotHttpDeps) =>
  botRoute(wiring, 'owner', async ({ event, deps, botId, bot }) => {
    const request = parseJsonBody(event, recommendRequestSchema, { exactIntegersUnder: ['has_id'] });
    checkSearchShape([request], bot.embedding_dimension, 'limit');
    const result = await deps.search(botId, undefined, { bot, ...recommendQueryOf(request) });
    countSearchSource(deps.metrics, result);
    deps.metrics.publishStoredMetrics();
    return json(200, searchResponseBody(result), SEARCH_TOO_LARGE);
  });

export const handler = makeRecommendHandler(snapshotHttpDeps);
