import { join } from 'node:path';
import { startApiDocs } from '../../tools/local/api-docs';
import { findFreePort } from '../../tools/local/stack';

/** The dev stack's /docs: the real openapi.yaml, served on loopback with its server set to the running API. */
describe('the dev API docs', () => {
  it('serves a viewer at /docs and the document, pointing at the running API', async () => {
    const port = await findFreePort();
    const docs = await startApiDocs({
      port,
      openapiFile: join(__dirname, '..', '..', 'openapi.yaml'),
      apiUrl: 'http://localhost:4123',
    });
    try {
      expect(docs.url).toBe(`http://localhost:${port}/docs`);
      const base = `http://127.0.0.1:${port}`;
      const page = await fetch(`${base}/docs`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const html = await page.text();
      expect(html).toContain('<title>ddb-vector-sync HTTP API</title>');
      // Self-contained: no script or style from anywhere else.
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!localhost)/);
      const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
      // The viewer's code at least parses (it runs in the browser).
      expect(() => new Function(script)).not.toThrow();

      const document = (await (await fetch(`${base}/openapi.json`)).json()) as {
        servers: { url: string }[];
        paths: Record<string, unknown>;
      };
      expect(document.servers).toEqual([{ url: 'http://localhost:4123', description: 'this npm run dev' }]);
      expect(Object.keys(document.paths)).toContain('/bots/{botId}/search');
      expect(await (await fetch(`${base}/openapi.yaml`)).text()).toMatch(/^openapi: 3\.1\.0/);
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
    } finally {
      await docs.stop();
    }
  });
});
