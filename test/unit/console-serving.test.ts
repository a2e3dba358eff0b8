import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConsoleHandler } from '../../handlers/http-console';
import { startApiDocs } from '../../tools/local/api-docs';
import { consoleSite } from '../../tools/local/console-site';
import { findFreePort } from '../../tools/local/stack';

describe('the console in dev', () => {
  it('serves the page with the dev token beside /docs and passes /console/api/* to the API unchanged', async () => {
    const seen: { method?: string; url?: string; authorization?: string; body: string }[] = [];
    const api = createServer((request, response) => {
      let body = '';
      request.on('data', (part) => {
        body += part;
      });
      request.on('end', () => {
        seen.push({
          method: request.method,
          url: request.url,
          authorization: request.headers.authorization,
          body,
        });
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end('{"error":{"code":"unauthorized","message":"invalid token"}}');
      });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    const port = await findFreePort();
    const docs = await startApiDocs({
      port,
      openapiFile: join(__dirname, '..', '..', 'openapi.yaml'),
      apiUrl,
      serveAlso: consoleSite({ apiUrl, devToken: 'dev.token.here' }),
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      const page = await fetch(`${base}/console`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('"apiBase":"/console/api","devToken":"dev.token.here","devEmbedder":true');

      const answer = await fetch(`${base}/console/api/bots/b%20x/search?limit=2`, {
        method: 'POST',
        headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
        body: '{"query_text":"hello"}',
      });
      expect(answer.status).toBe(401);
      expect(await answer.json()).toEqual({ error: { code: 'unauthorized', message: 'invalid token' } });
      expect(seen).toEqual([
        {
          method: 'POST',
          url: '/bots/b%20x/search?limit=2',
          authorization: 'Bearer t',
          body: '{"query_text":"hello"}',
        },
      ]);
      // The docs are still where they were.
      expect((await fetch(`${base}/docs`)).status).toBe(200);
    } finally {
      await docs.stop();
      api.close();
    }
  });
});

describe('GET /console in AWS', () => {
  it('serves the packaged page, or says how to package it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'console-page-'));
    try {
      const file = join(dir, 'index.html');
      expect((await makeConsoleHandler(file)()).statusCode).toBe(404);
      await writeFile(file, '<!doctype html><p>console</p>');
      const served = await makeConsoleHandler(file)();
      expect(served).toMatchObject({
        statusCode: 200,
        headers: { 'content-type': 'text/html; charset=utf-8', 'x-frame-options': 'DENY' },
        body: '<!doctype html><p>console</p>',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
