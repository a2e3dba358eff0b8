import { checkSearchShape } from '../src/contracts/response-limits';
import { searchQueryOf, searchRequestSchema } from '../src/contracts/search-request';
import { parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { countSearchSource, SEARCH_TOO_LARGE, searchResponseBody } from '../src/http/search-response';
import { type SnapshotHttpDeps, snapshotHttpDeps } from '../src/wiring/http-snapshots';

/** POST /bots/{botId}/search: the caller's bot's top chunks (or documents) for an embedding. */
export const makeSearchHandler = (wiring: () => SnapshotHttpDeps) =>
  botRoute(wiring, 'reader', async ({ event, deps, botId, bot }) => {
    const request = parseJsonBody(event, searchRequestSchema, { exactIntegersUnder: ['has_id'] });
    checkSearchShape([request], bot.embedding_dimension, 'limit');
    const result = await deps.search(botId, request.embedding, { bot, ...searchQueryOf(request) });
    countSearchSource(deps.metrics, result);
    deps.metrics.publishStoredMetrics();
    return json(200, searchResponseBody(result), SEARCH_TOO_LARGE);
  });

export const handler = makeSearchHandler(snapshotHttpDeps);
