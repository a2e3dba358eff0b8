import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename, dirname, join } from 'node:path';
import YAML from 'yaml';

export type ApiDocs = { url: string; stop(): Promise<void> };

/**
 * The dev stack's API documentation: `/docs` renders openapi.yaml with Swagger UI (its files served from
 * node_modules, nothing downloaded from elsewhere), `/openapi.json` and `/openapi.yaml` serve the document with its
 * server set to the running API. The file is read on every request, so edits show on reload.
 */
export async function startApiDocs(input: {
  port: number;
  openapiFile: string;
  apiUrl: string;
  /** More pages on the same server (the console): answers a request and returns true, or returns false. */
  serveAlso?: (request: IncomingMessage, response: ServerResponse) => boolean;
}): Promise<ApiDocs> {
  const document = async () => {
    const parsed = YAML.parse(await readFile(input.openapiFile, 'utf8')) as Record<string, unknown>;
    return {
      ...parsed,
      servers: [{ url: input.apiUrl, description: 'this npm run dev' }],
    } as Record<string, unknown> & { info?: { title?: unknown } };
  };
  const server = createServer((request, response) => {
    if (input.serveAlso?.(request, response)) return;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
    if (path === '/') {
      response.writeHead(302, { location: '/docs' });
      return response.end();
    }
    const asset = swaggerUiAsset(path);
    if (asset !== undefined) {
      readFile(asset.file, 'utf8').then(
        (body) => send(200, asset.type, body),
        (error: unknown) => send(500, 'text/plain', `cannot read ${asset.file}: ${String(error)}\n`),
      );
      return;
    }
    document().then(
      (doc) => {
        if (path === '/docs') return send(200, 'text/html', page(String(doc.info?.title ?? 'API')));
        if (path === '/openapi.json')
          return send(200, 'application/json', `${JSON.stringify(doc, null, 2)}\n`);
        if (path === '/openapi.yaml') return send(200, 'application/yaml', YAML.stringify(doc));
        return send(404, 'text/plain', 'not found: try /docs, /openapi.json or /openapi.yaml\n');
      },
      (error: unknown) => send(500, 'text/plain', `cannot read ${input.openapiFile}: ${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://localhost:${input.port}/docs`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/**
 * Swagger UI's files, served from the installed swagger-ui-dist package (a devDependency): nothing is
 * fetched from a CDN, so the docs work offline.
 */
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_UI_ASSETS: Record<string, string> = {
  '/docs/swagger-ui.css': 'text/css',
  '/docs/swagger-ui-bundle.js': 'text/javascript',
};

/** The asset's file and content type when `path` names one, else undefined. */
export function swaggerUiAsset(path: string): { file: string; type: string } | undefined {
  const type = SWAGGER_UI_ASSETS[path];
  return type === undefined ? undefined : { file: join(SWAGGER_UI_DIR, basename(path)), type };
}

/**
 * The viewer: Swagger UI over /openapi.json (Markdown rendered, $refs resolved, "Try it out" against the
 * running API). `validatorUrl: null` keeps it from sending the document to swagger.io's validator.
 */
function page(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: null,
  deepLinking: true, tryItOutEnabled: true, persistAuthorization: true, displayRequestDuration: true });
</script></body></html>
`;
}
