import { listDocumentsQuerySchema } from '../src/domain/bot-request';
import { botIdParameter, parseWith } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { requireOwnedBot } from '../src/use-cases/authorize-bot';
import { httpDeps, httpLogger } from '../src/wiring/http';

/** GET /bots/{botId}/documents: one page of the caller's bot's documents, in filename order. */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = botIdParameter(event);
  await requireOwnedBot(deps.bots, botId, userId, { allowDeleted: true });
  const query = parseWith(listDocumentsQuerySchema, event.queryStringParameters ?? {});
  const page = await deps.documents.list(botId, query);
  return json(200, {
    documents: page.documents,
    ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }),
  });
});
