import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pLimit, { type LimitFunction } from 'p-limit';

/**
 * Requests one function of the dev stack serves at once. serverless-offline starts a new handler instance
 * (a worker thread with its own module scope, snapshot cache and native scan) for every request that finds
 * none idle, without a bound: 200 concurrent searches made 200 instances, each reading the bot's snapshot,
 * and the process died at 10-14 GB. Lambda bounds instances by the function's concurrency; this plays it.
 */
export const DEV_INSTANCES_PER_FUNCTION = 4;

/** Requests of one function that may wait for an instance; one more is shed with 503 and Retry-After. */
export const DEV_WAITING_PER_FUNCTION = 2000;

/** The function a request reaches: its method and route, the bot id replaced (`POST /bots/{botId}/search`). */
export function functionKeyOf(method: string | undefined, url: string | undefined): string {
  const path = (url ?? '/').split('?')[0] ?? '/';
  const route = path.replace(/^\/bots\/[^/]+/, '/bots/{botId}');
  return `${method ?? 'GET'} ${route}`;
}

export type InvocationGate = {
  url: string;
  /** The most requests any one function served at once since the start. */
  mostInFlight(): number;
  stop(): Promise<void>;
};

/**
 * An HTTP front for serverless-offline on `port` that forwards every request to `target` unchanged, at
 * most `instances` at a time per function (the rest wait in arrival order, up to `waiting`; beyond that
 * 503 `unavailable` with Retry-After, as an overloaded function answers). So the dev server holds at most
 * `instances` handler instances per function, whatever the load.
 */
export async function startInvocationGate(input: {
  port: number;
  target: { host: string; port: number };
  instances?: number;
  waiting?: number;
}): Promise<InvocationGate> {
  const instances = input.instances ?? DEV_INSTANCES_PER_FUNCTION;
  const waiting = input.waiting ?? DEV_WAITING_PER_FUNCTION;
  const limits = new Map<string, LimitFunction>();
  const agent = new Agent({ keepAlive: true });
  let most = 0;

  const forward = (req: IncomingMessage, res: ServerResponse) =>
    new Promise<void>((done) => {
      const upstream = request(
        {
          host: input.target.host,
          port: input.target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', done);
          answer.on('error', done);
        },
      );
      upstream.on('error', (error) => {
        if (!res.headersSent) sendError(res, 502, 'internal_error', `serverless-offline: ${error.message}`);
        else res.destroy();
        done();
      });
      res.on('close', done);
      req.pipe(upstream);
    });

  const server = createServer((req, res) => {
    const key = functionKeyOf(req.method, req.url);
    let limit = limits.get(key);
    if (limit === undefined) {
      limit = pLimit(instances);
      limits.set(key, limit);
    }
    if (limit.pendingCount >= waiting) {
      sendError(
        res,
        503,
        'unavailable',
        `${key} is overloaded (${waiting} requests waiting); send it again later`,
        {
          'retry-after': '1',
        },
      );
      return;
    }
    const gate = limit;
    void gate(async () => {
      most = Math.max(most, gate.activeCount);
      await forward(req, res);
    });
  });
  // Requests that wait for an instance must not be cut by Node's default request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    mostInFlight: () => most,
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ error: { code, message } }));
}
