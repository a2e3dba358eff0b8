import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startApiDocs } from './api-docs';
import { showOfflineProblems, startOffline, stopProcessGroup } from './offline';
import { formatRequestLine, startRequestLog } from './request-log';
import { findFreePort, portIsFree } from './stack';

/** `preferred` when it is free, else a free port (and a line saying so); a free port when none is preferred. */
export async function choosePort(
  preferred: number | undefined,
  what: string,
  log: (message: string) => void,
): Promise<number> {
  if (preferred === undefined) return findFreePort();
  if (await portIsFree(preferred)) return preferred;
  const port = await findFreePort();
  log(`port ${preferred} is in use; ${what} listens on ${port} instead`);
  return port;
}

/** The HTTP side of the dev stack, as started: URLs, serverless-offline's process, how to stop both. */
export type DevHttp = {
  /** The HTTP API, serverless-offline's Lambda Invoke endpoint, the API docs. */
  urls: { http: string; lambda: string; docs: string };
  offline: ChildProcess;
  stopOffline(): Promise<void>;
  /** Stops the API docs and the request log in front of serverless-offline. */
  stopDocs(): Promise<void>;
};

/**
 * Starts serverless-offline (on free ports: its HTTP API and its Lambda Invoke endpoint) with `handlerEnv`
 * as its environment, the request log in front of its HTTP API on `httpPort` (or a free port), which logs
 * one line per request (method, path, status, ms, and a search's source), then the API docs pointing at it.
 * @throws an Error with serverless-offline's output when it does not come up.
 */
export async function startDevHttp(input: {
  serviceDir: string;
  handlerEnv: NodeJS.ProcessEnv;
  httpPort: number | undefined;
  docsPort: number | undefined;
  timeoutMs: number;
  output: ((line: string) => void) | undefined;
  log: (message: string) => void;
  /** Called as soon as serverless-offline runs, so a failure after it still stops it. */
  started: (stop: () => Promise<void>) => void;
}): Promise<DevHttp> {
  const { log } = input;
  const httpPort = await choosePort(input.httpPort, 'the HTTP API (openapi.yaml names 3000)', log);
  const lambdaPort = await findFreePort();
  const offlinePort = await findFreePort();
  log('starting serverless offline (bundling the functions with esbuild)');
  const offline = await startOffline({
    serviceDir: input.serviceDir,
    env: {
      ...input.handlerEnv,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_DEPRECATION_DISABLE: '*',
    },
    httpPort: offlinePort,
    lambdaPort,
    timeoutMs: input.timeoutMs,
    output: input.output ?? showOfflineProblems(log),
  });
  const stopOffline = async () => {
    log('stopping serverless offline');
    await stopProcessGroup(offline);
  };
  input.started(stopOffline);
  const requests = await startRequestLog({
    port: httpPort,
    targetPort: offlinePort,
    onRequest: (request) => log(`[http] ${formatRequestLine(request)}`),
  });
  const docs = await startApiDocs({
    port: await choosePort(input.docsPort, 'the API docs', log),
    openapiFile: join(input.serviceDir, 'openapi.yaml'),
    apiUrl: `http://localhost:${httpPort}`,
  });
  return {
    urls: { http: `http://127.0.0.1:${httpPort}`, lambda: `http://127.0.0.1:${lambdaPort}`, docs: docs.url },
    offline,
    stopOffline,
    stopDocs: async () => {
      await Promise.all([docs.stop(), requests.stop()]);
    },
  };
}
