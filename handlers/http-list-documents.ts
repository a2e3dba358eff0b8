import { listDocumentsQuerySchema } from '../src/contracts/bot-request';
import { parseWith } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/** GET /bots/{botId}/documents: one page of the caller's bot's documents, in filename order. */
export const makeListDocumentsHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'reader-even-deleted', async ({ event, deps, botId }) => {
    const query = parseWith(listDocumentsQuerySchema, event.queryStringParameters ?? {});
    const page = await deps.listDocuments(botId, query);
    return json(200, {
      documents: page.documents,
      ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }),
    });
  });

export const handler = makeListDocumentsHandler(httpDeps);
