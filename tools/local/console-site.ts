import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { buildConsoleScript, consolePage } from '../../console/build';

/** Where the dev console's page proxies API calls: same origin as the page, so no CORS is needed. */
export const DEV_CONSOLE_API_PREFIX = '/console/api';

/**
 * The console as the dev docs server serves it: `/console` is the page (built once, on the first
 * request, with the dev token pre-filled and the dev embedder on), and `/console/api/*` is passed to the
 * HTTP API unchanged (method, headers, body, status). Returns a request handler that answers the
 * console's paths and returns false for any other path.
 */
export function consoleSite(input: { apiUrl: string; devToken: string }) {
  let page: Promise<string> | undefined;
  const pageOnce = () => {
    page ??= buildConsoleScript().then((script) =>
      consolePage(script, { apiBase: DEV_CONSOLE_API_PREFIX, devToken: input.devToken, devEmbedder: true }),
    );
    return page;
  };
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(`${DEV_CONSOLE_API_PREFIX}/`)) {
      proxy(
        request,
        response,
        new URL(url.pathname.slice(DEV_CONSOLE_API_PREFIX.length) + url.search, input.apiUrl),
      );
      return true;
    }
    if (url.pathname !== '/console' && url.pathname !== '/console/') return false;
    pageOnce().then(
      (html) => {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        response.end(html);
      },
      (error: unknown) => {
        page = undefined;
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`cannot build the console (console/build.ts): ${String(error)}\n`);
      },
    );
    return true;
  };
}

function proxy(request: IncomingMessage, response: ServerResponse, target: URL): void {
  const { host: _host, ...headers } = request.headers;
  const upstream = httpRequest(target, { method: request.method, headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  upstream.on('error', (error) => {
    response.writeHead(502, { 'content-type': 'application/json; charset=utf-8' });
    response.end(
      JSON.stringify({
        error: {
          code: 'bad_gateway',
          message: `the HTTP API at ${target.origin} did not answer: ${error.message}`,
        },
      }),
    );
  });
  request.pipe(upstream);
}
