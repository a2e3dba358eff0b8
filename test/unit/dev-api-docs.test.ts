import { join } from 'node:path';
import { startApiDocs } from '../../tools/local/api-docs';
import { findFreePort } from '../../tools/local/stack';

/**
 * The dev stack's /docs: Swagger UI (served from node_modules, no CDN) over the real openapi.yaml, on
 * loopback, with its server set to the running API.
 */
describe('the dev API docs', () => {
  it('serves Swagger UI at /docs from its own files, and the document pointing at the running API', async () => {
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
      // Swagger UI from this server only: every script and stylesheet is a local path, no CDN.
      const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      expect(sources).toEqual(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js']);
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).toContain("url: '/openapi.json'");
      expect(html).toContain('validatorUrl: null');
      const inline = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
      // The viewer's start-up code at least parses (it runs in the browser).
      expect(() => new Function(inline)).not.toThrow();
      for (const [asset, type] of [
        ['/docs/swagger-ui-bundle.js', /text\/javascript/],
        ['/docs/swagger-ui.css', /text\/css/],
      ] as const) {
        const answer = await fetch(`${base}${asset}`);
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toMatch(type);
        const body = await answer.text();
        expect(body.length).toBeGreaterThan(10_000);
        // Nothing in the bundle loads code from a CDN either.
        expect(body).not.toMatch(/(unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com)/);
      }
      expect(await (await fetch(`${base}/docs/swagger-ui-bundle.js`)).text()).toContain('SwaggerUIBundle');

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
