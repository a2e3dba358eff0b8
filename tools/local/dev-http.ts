import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startApiDocs } from './api-docs';
import { consoleSite } from './console-site';
import { type InvocationGate, startInvocationGate } from './invocation-gate';
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
  /** The HTTP API, serverless-offline's Lambda Invoke endpoint, the API docs, the console. */
  urls: { http: string; lambda: string; docs: string; console: string };
  offline: ChildProcess;
  /** The front that bounds handler instances per function (tools/local/invocation-gate.ts). */
  gate: InvocationGate;
  stopOffline(): Promise<void>;
  /** Stops the API docs and the request log in front of serverless-offline. */
  stopDocs(): Promise<void>;
};

/**
 * Starts serverless-offline (on free ports: its HTTP API and its Lambda Invoke endpoint) with `handlerEnv`
 * as its environment, then in front of its HTTP API on `httpPort` (or a free port) the request log, which
 * logs one line per request (method, path, status, ms, and a search's source), and behind it the invocation
 * gate, so that each function runs at most DEV_INSTANCES_PER_FUNCTION handler instances; then the API docs.
 * @throws an Error with serverless-offline's output when it does not come up.
 */
export async function startDevHttp(input: {
  serviceDir: string;
  handlerEnv: NodeJS.ProcessEnv;
  httpPort: number | undefined;
  docsPort: number | undefined;
  /** Pre-filled in the console served beside the docs. */
  devToken: string;
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
  const gatePort = await findFreePort();
  const workFolder = join('.esbuild', `offline-${offlinePort}`);
  log('starting serverless offline (bundling the functions with esbuild)');
  const offline = await startOffline({
    serviceDir: input.serviceDir,
    env: {
      ...input.handlerEnv,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_DEPRECATION_DISABLE: '*',
      // Bundles of their own (serverless.yml reads it): serverless-esbuild clears its work folder when it
      // starts, so two stacks started from one checkout (parallel tests) would clear each other's.
      ESBUILD_WORK_FOLDER: workFolder,
    },
    httpPort: offlinePort,
    lambdaPort,
    timeoutMs: input.timeoutMs,
    output: input.output ?? showOfflineProblems(log),
  });
  let gate: InvocationGate | undefined;
  const stopOffline = async () => {
    log('stopping serverless offline');
    await gate?.stop();
    await stopProcessGroup(offline);
    await rm(join(input.serviceDir, workFolder), { recursive: true, force: true });
  };
  input.started(stopOffline);
  gate = await startInvocationGate({ port: gatePort, target: { host: '127.0.0.1', port: offlinePort } });
  const requests = await startRequestLog({
    port: httpPort,
    targetPort: gatePort,
    onRequest: (request) => log(`[http] ${formatRequestLine(request)}`),
  });
  const apiUrl = `http://localhost:${httpPort}`;
  const docs = await startApiDocs({
    port: await choosePort(input.docsPort, 'the API docs', log),
    openapiFile: join(input.serviceDir, 'openapi.yaml'),
    apiUrl,
    serveAlso: consoleSite({ apiUrl, devToken: input.devToken }),
  });
  return {
    urls: {
      http: `http://127.0.0.1:${httpPort}`,
      lambda: `http://127.0.0.1:${lambdaPort}`,
      docs: docs.url,
      console: docs.url.replace(/\/docs$/, '/console'),
    },
    offline,
    gate,
    stopOffline,
    stopDocs: async () => {
      await Promise.all([docs.stop(), requests.stop()]);
    },
  };
}
