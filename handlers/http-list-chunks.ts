import { listChunksQuerySchema } from '../src/contracts/bot-request';
import { filenameParameter, parseWith } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/** GET /bots/{botId}/documents/chunks?filename=…: one page of a document's chunks in chunk_index order. */
export const makeListChunksHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'reader-even-deleted', async ({ event, deps, botId }) => {
    const query = parseWith(listChunksQuerySchema, event.queryStringParameters ?? {});
    const page = await deps.documentChunks(botId, {
      filename: filenameParameter(event),
      limit: query.limit ?? 20,
      withVectors: query.with_vectors === 'true',
      ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
    });
    return json(200, {
      total: page.total,
      chunks: page.chunks,
      ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }),
    });
  });

export const handler = makeListChunksHandler(httpDeps);
