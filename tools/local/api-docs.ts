import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import YAML from 'yaml';

export type ApiDocs = { url: string; stop(): Promise<void> };

/**
 * The dev stack's API documentation: `/docs` renders openapi.yaml in the browser (a self-contained page,
 * nothing downloaded from elsewhere), `/openapi.json` and `/openapi.yaml` serve the document with its
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

/** The viewer: fetches /openapi.json and lists every operation with its parameters, body and responses. */
function page(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h2{margin-top:2em;border-bottom:1px solid #ddd}.op{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.6em 1em}
.m{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}.get{color:#2a7}.post{color:#27a}
.put{color:#a72}.delete{color:#c33}code,pre{background:#f6f6f6;border-radius:4px}pre{padding:.6em;overflow:auto;font-size:13px}
summary{cursor:pointer}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left}
</style></head><body><div id="doc">Loading openapi.json…</div>
<script>
const el = (tag, attrs = {}, ...children) => { const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c); return e; };
const json = (value) => el('pre', {}, JSON.stringify(value, null, 2));
fetch('openapi.json').then((r) => r.json()).then((doc) => {
  const root = document.getElementById('doc'); root.textContent = '';
  const deref = (v) => (v && v.$ref ? v.$ref.split('/').slice(1).reduce((o, k) => o[k], doc) : v);
  root.append(el('h1', {}, doc.info.title + ' ' + doc.info.version));
  root.append(el('p', {}, 'Server: ', el('code', {}, doc.servers[0].url), ' · ', el('a', { href: 'openapi.yaml' }, 'openapi.yaml'), ' · ', el('a', { href: 'openapi.json' }, 'openapi.json')));
  if (doc.info.description) root.append(el('pre', {}, doc.info.description));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      const op = item[method]; if (!op) continue;
      const box = el('div', { class: 'op', id: op.operationId || '' });
      box.append(el('div', {}, el('span', { class: 'm ' + method }, method), el('code', {}, path), ' ', op.summary || ''));
      if (op.description) box.append(el('p', {}, op.description));
      const params = [...(item.parameters || []), ...(op.parameters || [])].map(deref);
      if (params.length) box.append(el('table', {}, el('tr', {}, el('th', {}, 'parameter'), el('th', {}, 'in'), el('th', {}, 'description')),
        ...params.map((p) => el('tr', {}, el('td', {}, el('code', {}, p.name)), el('td', {}, p.in), el('td', {}, p.description || '')))));
      const body = deref(op.requestBody);
      if (body) box.append(el('details', {}, el('summary', {}, 'request body'), json(body.content)));
      for (const [status, response] of Object.entries(op.responses || {})) {
        const r = deref(response);
        box.append(el('details', {}, el('summary', {}, status + ' ' + (r.description || '')), json(r.content || {})));
      }
      root.append(box);
    }
  }
  if (doc.components && doc.components.schemas) {
    root.append(el('h2', {}, 'Schemas'));
    for (const [name, schema] of Object.entries(doc.components.schemas))
      root.append(el('details', { id: 'schema-' + name }, el('summary', {}, name), json(schema)));
  }
}).catch((error) => { document.getElementById('doc').textContent = 'Cannot load openapi.json: ' + error; });
</script></body></html>
`;
}
