import { createServer } from 'node:http';
import {
  formatRequestLine,
  type LoggedRequest,
  searchSource,
  startRequestLog,
} from '../../tools/local/request-log';
import { findFreePort } from '../../tools/local/stack';

/** The dev stack's one line per request, in front of serverless-offline (here a plain HTTP server). */
describe('the dev request log', () => {
  it('reads where a search was answered from, at the top level only', () => {
    expect(searchSource('{"source":"snapshot","results":[]}')).toBe('snapshot');
    expect(searchSource('{"searches":[{"source":"dynamodb"},{"source":"snapshot"}]}')).toBe(
      'snapshot+dynamodb',
    );
    expect(searchSource('{"results":[{"metadata":{"source":"wiki"}}]}')).toBeUndefined();
    expect(searchSource('not json')).toBeUndefined();
  });

  it('says method, path, status, time and source in one line', () => {
    const request: LoggedRequest = {
      method: 'POST',
      path: '/bots/b/search',
      status: 200,
      ms: 13.6,
      source: 'dynamodb',
    };
    expect(formatRequestLine(request)).toBe('POST /bots/b/search 200 14 ms from DynamoDB');
    expect(
      formatRequestLine({ ...request, method: 'GET', path: '/bots/b', status: 401, source: undefined }),
    ).toBe('GET /bots/b 401 14 ms');
  });

  it('passes requests through unchanged and logs each one, a 401 too', async () => {
    const targetPort = await findFreePort();
    const target = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        if (request.headers.authorization === undefined) {
          response.writeHead(401, { 'content-type': 'application/json' });
          return response.end('{"error":{"message":"no token"}}');
        }
        response.writeHead(200, { 'content-type': 'application/json', 'x-echo': body });
        response.end(JSON.stringify({ source: 'snapshot', results: [], url: request.url }));
      });
    });
    await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
    const lines: LoggedRequest[] = [];
    const port = await findFreePort();
    const log = await startRequestLog({ port, targetPort, onRequest: (r) => lines.push(r) });
    try {
      const search = await fetch(`http://127.0.0.1:${port}/bots/b/search?x=1`, {
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: '{"query_text":"hi"}',
      });
      expect(search.status).toBe(200);
      expect(search.headers.get('x-echo')).toBe('{"query_text":"hi"}');
      expect(await search.json()).toEqual({ source: 'snapshot', results: [], url: '/bots/b/search?x=1' });
      const recommend = await fetch(`http://127.0.0.1:${port}/bots/b/recommend`, {
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        body: '{"positive":["c~1"]}',
      });
      expect(recommend.status).toBe(200);
      await recommend.text();
      const refused = await fetch(`http://127.0.0.1:${port}/bots/b`);
      expect(refused.status).toBe(401);
      await refused.text();

      expect(lines.map(({ ms: _ms, ...line }) => line)).toEqual([
        { method: 'POST', path: '/bots/b/search', status: 200, source: 'snapshot' },
        { method: 'POST', path: '/bots/b/recommend', status: 200, source: 'snapshot' },
        { method: 'GET', path: '/bots/b', status: 401, source: undefined },
      ]);
    } finally {
      await log.stop();
      target.closeAllConnections();
      await new Promise((resolve) => target.close(resolve));
    }
  });
});
