import { upsertDocumentRequestSchema } from '../src/contracts/bot-request';
import { parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/** POST /bots/{botId}/documents: writes (or replaces) one document of the caller's bot. */
export const makeUpsertDocumentHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'owner', async ({ event, deps, botId }) => {
    const request = parseJsonBody(event, upsertDocumentRequestSchema);
    const result = await deps.upsertDocument({ type: 'upsert_document', bot_id: botId, ...request });
    return json(200, {
      bot_id: result.bot_id,
      filename: result.filename,
      chunks_written: result.written,
      chunks_deleted: result.deleted,
    });
  });

export const handler = makeUpsertDocumentHandler(httpDeps);
