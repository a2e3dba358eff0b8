import { botIdParameter, filenameParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { requireOwnedBot } from '../src/use-cases/authorize-bot';
import { httpDeps, httpLogger } from '../src/wiring/http';

/**
 * DELETE /bots/{botId}/documents?filename=…: removes one document of the caller's bot (safe to repeat).
 * The filename is a query parameter so that no name can be normalised into another route.
 */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = botIdParameter(event);
  await requireOwnedBot(deps.bots, botId, userId, { allowDeleted: true });
  const filename = filenameParameter(event);
  const result = await deps.deleteDocument({ bot_id: botId, filename });
  return json(200, { bot_id: result.bot_id, filename: result.filename, chunks_deleted: result.deleted });
});
