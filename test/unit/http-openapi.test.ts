import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadOpenApi, operations, responseProblems, schemaProblems } from '../fixtures/openapi';

const root = join(__dirname, '..', '..');
const doc = loadOpenApi(root);

describe('the OpenAPI document', () => {
  it('names an existing handler file for every operation', () => {
    for (const operation of operations(doc)) {
      expect(operation.handler).toMatch(/^handlers\/http-[a-z-]+\.handler$/);
      const file = join(root, `${(operation.handler as string).replace(/\.handler$/, '')}.ts`);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toMatch(/export const handler\b/);
    }
  });

  it('documents every HTTP handler in handlers/', () => {
    const documented = new Set(operations(doc).map((operation) => operation.handler));
    const httpHandlers = readdirSync(join(root, 'handlers')).filter((name) => /^http-.*\.ts$/.test(name));
    expect(httpHandlers.length).toBeGreaterThanOrEqual(7);
    for (const name of httpHandlers)
      expect(documented).toContain(`handlers/${name.replace(/\.ts$/, '')}.handler`);
  });

  it('lists the routes of the issue, each with the errors every route can return', () => {
    const routes = operations(doc).map((operation) => `${operation.method} ${operation.path}`);
    expect(routes.sort()).toEqual(
      [
        'DELETE /aliases/{alias}',
        'DELETE /bots/{botId}',
        'DELETE /bots/{botId}/documents',
        'PATCH /bots/{botId}/documents',
        'GET /bots',
        'GET /bots/{botId}',
        'GET /bots/{botId}/doctor',
        'GET /bots/{botId}/documents',
        'GET /bots/{botId}/documents/chunks',
        'GET /console',
        'POST /bots/{botId}/documents',
        'POST /bots/{botId}/search',
        'POST /bots/{botId}/search/batch',
        'POST /bots/{botId}/recommend',
        'PUT /aliases/{alias}',
        'PUT /bots/{botId}',
      ].sort(),
    );
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (method === 'parameters') continue;
        // The console's page is public (it holds no data): its script calls the API with a token.
        if (path === '/console') {
          expect((operation as { security?: unknown }).security).toEqual([]);
          continue;
        }
        for (const status of ['400', '401', '500', '503']) expect(operation.responses).toHaveProperty(status);
        // Only a route about one bot can refuse a caller who does not own it.
        if (
          (path.startsWith('/bots/{botId}') || path.startsWith('/aliases/')) &&
          !(method === 'put' && path === '/bots/{botId}')
        )
          expect(operation.responses).toHaveProperty('403');
      }
    }
  });

  it('matches the httpApi events of serverless.yml, route for route and handler for handler', () => {
    const config = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
      functions?: Record<
        string,
        { handler: string; events?: { httpApi?: { method: string; path: string } }[] }
      >;
    };
    const declared = Object.values(config.functions ?? {}).flatMap((fn) =>
      (fn.events ?? [])
        .filter((event) => event.httpApi !== undefined)
        .map((event) => `${event.httpApi?.method.toUpperCase()} ${event.httpApi?.path} ${fn.handler}`),
    );
    const documented = operations(doc).map(
      (operation) => `${operation.method} ${operation.path} ${operation.handler}`,
    );
    expect(declared.sort()).toEqual(documented.sort());
  });
});

describe('the response checker', () => {
  it('accepts a conforming error body and rejects one with a missing or unknown field', () => {
    expect(
      responseProblems(doc, 'GET', '/bots/{botId}', 404, { error: { code: 'not_found', message: 'no' } }),
    ).toEqual([]);
    expect(responseProblems(doc, 'GET', '/bots/{botId}', 404, { error: { code: 'not_found' } })).not.toEqual(
      [],
    );
    expect(
      responseProblems(doc, 'GET', '/bots/{botId}', 404, {
        error: { code: 'not_found', message: 'x', stack: 'y' },
      }),
    ).not.toEqual([]);
  });

  it('rejects a status the operation does not declare', () => {
    expect(
      responseProblems(doc, 'PUT', '/bots/{botId}', 404, { error: { code: 'not_found', message: 'x' } }),
    ).toEqual(['PUT /bots/{botId} does not declare status 404']);
  });

  it('checks types, enums and nested items', () => {
    const hit = {
      chunk_id: 'c',
      text: 't',
      score: 0.5,
      metadata: { filename: 'f', chunk_index: 0, lang: 'en' },
    };
    const search = (body: unknown) => responseProblems(doc, 'POST', '/bots/{botId}/search', 200, body);
    expect(search({ results: [hit], source: 'snapshot' })).toEqual([]);
    expect(search({ results: [hit], source: 'cache' })).not.toEqual([]);
    expect(search({ results: [{ ...hit, score: '0.5' }], source: 'dynamodb' })).not.toEqual([]);
    expect(search({ results: [{ ...hit, metadata: { filename: 'f' } }], source: 'dynamodb' })).not.toEqual(
      [],
    );
  });

  it('accepts exactly one branch of a oneOf', () => {
    const filter = { $ref: '#/components/schemas/SearchFilter' };
    expect(schemaProblems(doc, filter, { filename: ['a', 'b'] })).toEqual([]);
    expect(schemaProblems(doc, filter, { filename: 3 })).not.toEqual([]);
  });
});
