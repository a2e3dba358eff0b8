import type { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { withDeadline } from '../../src/machinery/deadline';

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Stops a child: SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it exited.
 * `send` delivers a signal (default: to the child; a process group leader's caller sends to the group).
 */
export async function terminate(
  child: ChildProcess,
  graceMs: number,
  send: (signal: NodeJS.Signals) => void = (signal) => child.kill(signal),
): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  send('SIGTERM');
  const stillRunning = await withDeadline(
    exited.then(() => false),
    graceMs,
    () => true,
  );
  if (stillRunning) {
    send('SIGKILL');
    await exited;
  }
}

/**
 * Polls `ready()` every `intervalMs` until it answers true.
 * @throws Error when the child exits first (`<what> exited with code N before it answered`) or after
 *   `timeoutMs` (`<what> did not answer within N ms`).
 */
export async function waitUntilReady(input: {
  what: string;
  child: ChildProcess;
  ready: () => Promise<boolean>;
  timeoutMs: number;
  intervalMs: number;
}): Promise<void> {
  const { what, child } = input;
  let exited: string | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    exited = signal === null ? `with code ${code ?? -1}` : `on ${signal}`;
  };
  child.once('exit', onExit);
  const deadline = performance.now() + input.timeoutMs;
  try {
    while (!(await input.ready())) {
      if (exited !== undefined) throw new Error(`${what} exited ${exited} before it answered`);
      if (performance.now() > deadline)
        throw new Error(`${what} did not answer within ${input.timeoutMs} ms`);
      await sleep(input.intervalMs);
    }
  } finally {
    child.off('exit', onExit);
  }
}
