import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * Where the built page sits in this function's package: `serverless package` builds it
 * (infra/console-plugin.js) and the function's package patterns put it beside the bundle's folder.
 */
export const CONSOLE_PAGE = join(__dirname, '..', 'console', 'dist', 'index.html');

/**
 * GET /console: the operators' console, one self-contained HTML page (its script inline, its Content
 * Security Policy in the page). It holds no data and needs no token: its script calls this API with the
 * token the user pastes, so it sees only what the API shows that token. Read once per container.
 */
export const makeConsoleHandler = (file: string) => {
  let page: Promise<string | null> | undefined;
  return async (): Promise<APIGatewayProxyStructuredResultV2> => {
    page ??= readFile(file, 'utf8').catch(() => null);
    const html = await page;
    if (html === null) {
      return {
        statusCode: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'This deployment was packaged without the console: `serverless package` (or deploy) builds it.\n',
      };
    }
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'x-frame-options': 'DENY',
      },
      body: html,
    };
  };
};

export const handler = makeConsoleHandler(CONSOLE_PAGE);
