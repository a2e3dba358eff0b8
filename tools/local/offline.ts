import { type ChildProcess, spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { terminate, waitUntilReady } from './child-process';
import { portAnswers } from './stack';

/** The stage serverless-offline runs under (function names derive from it). */
export const OFFLINE_STAGE = 'local';

/**
 * serverless-offline's lines worth showing by default: errors and warnings, except the AWS SDK's notice
 * about Node 20 (expected here) and its continuation lines.
 */
export function showOfflineProblems(log: (message: string) => void): (line: string) => void {
  let inSdkNotice = false;
  return (line) => {
    if (/NodeVersionSupportWarning/.test(line)) {
      inSdkNotice = true;
      return;
    }
    if (inSdkNotice) {
      if (/trace-warnings/.test(line)) inSdkNotice = false;
      return;
    }
    if (/error|warn/i.test(line)) log(`[offline] ${line}`);
  };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (at most `timeoutMs`) until no process of the group is left. */
async function waitUntilGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (groupAlive(pid) && performance.now() < deadline) await sleep(50);
}

/**
 * Ends serverless-offline and everything it spawned (esbuild's service, workers): it leads its own
 * process group. SIGTERM first (it shuts its servers down), SIGKILL for whatever is left after 8 s, then
 * waits until the group is gone (killed members are reaped by init shortly after).
 */
export async function stopProcessGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      // The group is gone already.
    }
  };
  await terminate(child, 8000, signal);
  // Anything left in the group (a worker that ignored SIGTERM) goes too.
  signal('SIGKILL');
  await waitUntilGone(pid, 5000);
}

export async function startOffline(input: {
  serviceDir: string;
  env: NodeJS.ProcessEnv;
  httpPort: number;
  lambdaPort: number;
  timeoutMs: number;
  output: (line: string) => void;
}): Promise<ChildProcess> {
  const serverlessBin = require.resolve('serverless/bin/serverless.js', { paths: [input.serviceDir] });
  const child = spawn(
    process.execPath,
    [
      serverlessBin,
      'offline',
      'start',
      '--stage',
      OFFLINE_STAGE,
      '--host',
      '127.0.0.1',
      '--httpPort',
      String(input.httpPort),
      '--lambdaPort',
      String(input.lambdaPort),
      '--noTimeout',
    ],
    { cwd: input.serviceDir, env: input.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let tail = '';
  const onData = (data: Buffer) => {
    const text = data.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim() !== '') input.output(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  try {
    await waitUntilReady({
      what: 'serverless offline',
      child,
      ready: async () => (await portAnswers(input.httpPort)) && (await portAnswers(input.lambdaPort)),
      timeoutMs: input.timeoutMs,
      intervalMs: 250,
    });
  } catch (error) {
    await stopProcessGroup(child);
    throw new Error(`${(error as Error).message} (it listens on two ports). Its output:\n${tail}`);
  }
  return child;
}
