import { upsertDocumentRequestSchema } from '../src/domain/bot-request';
import { botIdParameter, parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { requireOwnedBot } from '../src/use-cases/authorize-bot';
import { httpDeps, httpLogger } from '../src/wiring/http';

/** POST /bots/{botId}/documents: writes (or replaces) one document of the caller's bot. */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = botIdParameter(event);
  await requireOwnedBot(deps.bots, botId, userId);
  const request = parseJsonBody(event, upsertDocumentRequestSchema);
  const result = await deps.upsertDocument({ type: 'upsert_document', bot_id: botId, ...request });
  return json(200, {
    bot_id: result.bot_id,
    filename: result.filename,
    chunks_written: result.written,
    chunks_deleted: result.deleted,
  });
});
