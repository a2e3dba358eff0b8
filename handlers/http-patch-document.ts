import { patchDocumentMetadataRequestSchema } from '../src/contracts/bot-request';
import { filenameParameter, parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/**
 * PATCH /bots/{botId}/documents?filename=…: sets the metadata of every chunk of one document of the
 * caller's bot (`merge` or `replace`), without its embeddings.
 */
export const makePatchDocumentHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'owner', async ({ event, deps, botId }) => {
    const filename = filenameParameter(event);
    const request = parseJsonBody(event, patchDocumentMetadataRequestSchema);
    const result = await deps.patchDocumentMetadata({ bot_id: botId, filename, ...request });
    return json(200, result);
  });

export const handler = makePatchDocumentHandler(httpDeps);
