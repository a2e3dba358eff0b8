import { filenameParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/**
 * DELETE /bots/{botId}/documents?filename=…: removes one document of the caller's bot (safe to repeat).
 * The filename is a query parameter so that no name can be normalised into another route.
 */
export const makeDeleteDocumentHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'owner-even-deleted', async ({ event, deps, botId }) => {
    const result = await deps.deleteDocument({ bot_id: botId, filename: filenameParameter(event) });
    return json(200, { bot_id: result.bot_id, filename: result.filename, chunks_deleted: result.deleted });
  });

export const handler = makeDeleteDocumentHandler(httpDeps);
