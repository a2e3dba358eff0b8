import { createServer, request as forward, type IncomingMessage, type Server } from 'node:http';
import { performance } from 'node:perf_hooks';

/** A request as the dev log shows it: one line per request. */
export type LoggedRequest = {
  method: string;
  path: string;
  status: number;
  ms: number;
  /** Where a search was answered from (`snapshot`, `dynamodb`), from its body; undefined for other routes. */
  source: string | undefined;
};

/** Search answers are small JSON; anything larger is not inspected for its source. */
const MAX_INSPECTED_BYTES = 4 * 1024 * 1024;

/**
 * Where a search answer came from: `source` of `POST …/search` (and `…/recommend`), or the sources of the searches of
 * `POST …/search/batch` (`snapshot`, `dynamodb`, or both as `snapshot+dynamodb`). Undefined for any other
 * body. Only the top level is read: a chunk's metadata may hold its own `source`.
 */
export function searchSource(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as { source?: unknown; searches?: unknown };
  if (typeof record.source === 'string') return record.source;
  if (!Array.isArray(record.searches)) return undefined;
  const sources = new Set<string>();
  for (const search of record.searches as { source?: unknown }[]) {
    if (typeof search?.source === 'string') sources.add(search.source);
  }
  return sources.size === 0 ? undefined : [...sources].sort().reverse().join('+');
}

/** `POST /bots/my-bot/search 200 14 ms from snapshot` */
export function formatRequestLine(request: LoggedRequest): string {
  const source =
    request.source === undefined ? '' : ` from ${request.source.replace(/dynamodb/g, 'DynamoDB')}`;
  return `${request.method} ${request.path} ${request.status} ${Math.round(request.ms)} ms${source}`;
}

function isSearch(method: string | undefined, path: string): boolean {
  return method === 'POST' && /\/(search(\/batch)?|recommend)$/.test(path);
}

/**
 * A pass-through HTTP server on `port` in front of serverless-offline on `targetPort` (both 127.0.0.1)
 * that calls `onRequest` once per answered request. serverless-offline itself prints no line per request
 * with its status, and a 401 or 400 would otherwise leave no trace in the dev log.
 */
export async function startRequestLog(input: {
  port: number;
  targetPort: number;
  onRequest: (request: LoggedRequest) => void;
}): Promise<{ stop(): Promise<void> }> {
  const server: Server = createServer((incoming, outgoing) => {
    const started = performance.now();
    const path = (incoming.url ?? '/').split('?')[0] ?? '/';
    const method = incoming.method ?? 'GET';
    const upstream = forward(
      {
        host: '127.0.0.1',
        port: input.targetPort,
        method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer: IncomingMessage) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        const inspect = isSearch(method, path);
        const chunks: Buffer[] = [];
        let size = 0;
        answer.on('data', (chunk: Buffer) => {
          if (inspect && size < MAX_INSPECTED_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        answer.pipe(outgoing);
        answer.on('end', () => {
          input.onRequest({
            method,
            path,
            status: answer.statusCode ?? 502,
            ms: performance.now() - started,
            source:
              inspect && size < MAX_INSPECTED_BYTES
                ? searchSource(Buffer.concat(chunks).toString('utf8'))
                : undefined,
          });
        });
      },
    );
    upstream.on('error', (error) => {
      if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
      outgoing.end(`serverless offline did not answer: ${error.message}\n`);
      input.onRequest({ method, path, status: 502, ms: performance.now() - started, source: undefined });
    });
    incoming.pipe(upstream);
  });
  // serverless-offline runs handlers without a timeout here (--noTimeout); so does the pass-through.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port, '127.0.0.1', () => resolve());
  });
  return {
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
