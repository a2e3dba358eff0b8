import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parse } from 'yaml';

/**
 * The facts in README.md and docs/*.md that can be checked against the repository stay true: every route
 * they name is one serverless.yml deploys (and docs/deploy.md lists every deployed route), every
 * `npm run X` is a script in package.json, and every relative link leads to a file that exists.
 */
const root = join(__dirname, '..', '..');
const docs = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name)),
];
const read = (file: string) => readFileSync(file, 'utf8');
const name = (file: string) => relative(root, file);

/** `PUT /bots/{botId}` for every httpApi event of serverless.yml, parsed once for every doc checked. */
let deployedOnce: Set<string> | undefined;
function deployedRoutes(): Set<string> {
  deployedOnce ??= parseDeployedRoutes();
  return deployedOnce;
}

function parseDeployedRoutes(): Set<string> {
  const config = parse(read(join(root, 'serverless.yml')), { logLevel: 'silent' }) as {
    functions: Record<string, { events?: { httpApi?: { method: string; path: string } }[] }>;
  };
  return new Set(
    Object.values(config.functions).flatMap((fn) =>
      (fn.events ?? []).flatMap((event) =>
        event.httpApi === undefined ? [] : [`${event.httpApi.method.toUpperCase()} ${event.httpApi.path}`],
      ),
    ),
  );
}

/**
 * The routes a text names: `POST /bots/{botId}/search` and `PUT/GET/DELETE /bots/{botId}` (several methods
 * on one path). A path ends at whitespace, a backtick, a `?` or a closing parenthesis.
 */
function routesIn(text: string): string[] {
  const routes: string[] = [];
  for (const match of text.matchAll(
    /\b((?:GET|PUT|POST|DELETE|PATCH)(?:\/(?:GET|PUT|POST|DELETE|PATCH))*) (\/(?:bots|console|aliases\/)[^\s`?),;]*)/g,
  )) {
    const [, methods = '', path = ''] = match;
    // Trailing punctuation of the sentence is not part of the path.
    const clean = path.replace(/[.:]+$/, '');
    for (const method of methods.split('/')) routes.push(`${method} ${clean}`);
  }
  return routes;
}

/** The scripts a text runs: `npm run X` and `npm run -s X`. */
function scriptsIn(text: string): string[] {
  return [...text.matchAll(/npm run (?:-s |--silent )?([a-z][\w:-]*)/g)].map((m) => m[1] as string);
}

/** Relative link targets of Markdown links and images, without their #anchor. */
function relativeLinksIn(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^(https?:|mailto:|#)/.test(target))
    .map((target) => decodeURIComponent(target.split('#')[0] as string));
}

describe('facts in the docs', () => {
  it('reads routes, scripts and links the way the docs write them', () => {
    expect(routesIn('HTTP API: `PUT/GET/DELETE /bots/{botId}`, `POST /bots/{botId}/search`.')).toEqual([
      'PUT /bots/{botId}',
      'GET /bots/{botId}',
      'DELETE /bots/{botId}',
      'POST /bots/{botId}/search',
    ]);
    expect(routesIn('`DELETE /bots/{botId}/documents?filename=a.md` (see GET /bots/{botId}).')).toEqual([
      'DELETE /bots/{botId}/documents',
      'GET /bots/{botId}',
    ]);
    expect(scriptsIn('run `npm run -s token -- --user a` then npm run doctor -- --all')).toEqual([
      'token',
      'doctor',
    ]);
    expect(
      relativeLinksIn('[a](docs/x.md#y) [b](https://e.org) [c](#here) ![d](tools/bench/latency.svg)'),
    ).toEqual(['docs/x.md', 'tools/bench/latency.svg']);
  });

  it.each(docs.map((file) => [name(file), file]))(
    '%s names only routes serverless.yml deploys',
    (_, file) => {
      const deployed = deployedRoutes();
      const unknown = routesIn(read(file)).filter((route) => !deployed.has(route));
      expect(unknown).toEqual([]);
    },
  );

  it('docs/deploy.md lists every route serverless.yml deploys', () => {
    const listed = new Set(routesIn(read(join(root, 'docs', 'deploy.md'))));
    expect([...deployedRoutes()].filter((route) => !listed.has(route))).toEqual([]);
  });

  it.each(docs.map((file) => [name(file), file]))('%s runs only scripts package.json has', (_, file) => {
    const scripts = Object.keys(
      (JSON.parse(read(join(root, 'package.json'))) as { scripts: object }).scripts,
    );
    const missing = scriptsIn(read(file)).filter((script) => !scripts.includes(script));
    expect(missing).toEqual([]);
  });

  it.each(docs.map((file) => [name(file), file]))('%s links only to files that exist', (_, file) => {
    const broken = relativeLinksIn(read(file)).filter((target) => !existsSync(join(dirname(file), target)));
    expect(broken).toEqual([]);
  });

  it('README.md points at no file outside the repository', () => {
    const outside = [...read(join(root, 'README.md')).matchAll(/`(\.\.\/[^`]+)`/g)].map((m) => m[1]);
    expect(outside).toEqual([]);
  });
});
