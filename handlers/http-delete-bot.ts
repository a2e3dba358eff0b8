import { ValidationError } from '../src/errors';
import { queryParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/**
 * DELETE /bots/{botId}?confirm={botId}: removes every chunk of the caller's bot and marks it deleted (safe
 * to repeat). The bot id must be repeated in `confirm`: a path that a client or server rewrote into this
 * route (a document URL ending in `/..`) carries no such query, so it can never delete a bot by accident.
 */
export const makeDeleteBotHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'owner-even-deleted', async ({ event, deps, botId }) => {
    if (queryParameter(event, 'confirm') !== botId) {
      throw new ValidationError('confirm: must repeat the bot id to delete the bot', 'confirm');
    }
    const result = await deps.deleteBot({ bot_id: botId });
    return json(200, { bot_id: result.bot_id, status: 'deleted', chunks_deleted: result.deleted });
  });

export const handler = makeDeleteBotHandler(httpDeps);
