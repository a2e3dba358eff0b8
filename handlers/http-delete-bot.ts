import { pathParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { requireOwnedBot } from '../src/use-cases/authorize-bot';
import { httpDeps, httpLogger } from '../src/wiring/http';

/** DELETE /bots/{botId}: removes every chunk of the caller's bot and marks it deleted (safe to repeat). */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = pathParameter(event, 'botId');
  await requireOwnedBot(deps.bots, botId, userId, { allowDeleted: true });
  const result = await deps.deleteBot({ bot_id: botId });
  return json(200, { bot_id: result.bot_id, status: 'deleted', chunks_deleted: result.deleted });
});
