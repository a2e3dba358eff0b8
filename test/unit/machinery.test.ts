import { Worker } from 'node:worker_threads';
import { backoffDelay } from '../../src/machinery/backoff';
import { withDeadline } from '../../src/machinery/deadline';
import { mapLimited } from '../../src/machinery/pool';
import { nap, Wakeup } from '../../src/machinery/wakeup';

describe('backoff delay', () => {
  it('doubles from the base on each retry and stops at the cap', () => {
    const policy = { baseMs: 100, maxMs: 2000 };
    expect([1, 2, 3, 4, 5, 6, 40].map((retry) => backoffDelay(retry, policy))).toEqual([
      100, 200, 400, 800, 1600, 2000, 2000,
    ]);
  });

  it('with jitter, picks a point below the capped delay', () => {
    expect(backoffDelay(3, { baseMs: 25, maxMs: 1000 }, () => 0.5)).toBe(50);
    expect(backoffDelay(30, { baseMs: 25, maxMs: 1000 }, () => 0.25)).toBe(250);
  });
});

describe('deadline', () => {
  it("gives the work's value when it settles first", async () => {
    await expect(withDeadline(Promise.resolve('done'), 60_000, () => 'late')).resolves.toBe('done');
  });

  it('passes on the rejection of work that fails first', async () => {
    await expect(withDeadline(Promise.reject(new Error('boom')), 60_000, () => 'late')).rejects.toThrow(
      'boom',
    );
  });

  it('gives the fallback when the work never settles', async () => {
    await expect(withDeadline(new Promise<string>(() => {}), 1, () => 'late')).resolves.toBe('late');
  });

  it('rejects with what the fallback throws when the work never settles', async () => {
    const late = withDeadline(new Promise<string>(() => {}), 1, () => {
      throw new Error('took too long');
    });
    await expect(late).rejects.toThrow('took too long');
  });
});

/**
 * A promise settled by a message from another thread, and a way to block this thread until that message is
 * waiting in the event loop's queue, unread, while a timer of `ms` has expired too: the state of a container
 * whose CPU was taken while a dependency answered.
 */
async function answerWaitingBehindExpiredTimer(ms: number) {
  const sent = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     parentPort.once('message', () => {
       parentPort.postMessage('answer');
       Atomics.store(workerData, 0, 1);
     });`,
    { eval: true, workerData: sent },
  );
  await new Promise((resolve) => worker.once('online', resolve));
  // Leave the worker's message handling: the port reads every message that arrives while it runs.
  await new Promise((resolve) => setImmediate(resolve));
  const answer = new Promise<string>((resolve) => worker.once('message', resolve));
  return {
    answer,
    blockUntilBothReady() {
      const start = Date.now();
      worker.postMessage('ask');
      while (Atomics.load(sent, 0) === 0 || Date.now() - start <= ms) {
        // Busy: neither the timer nor the message is handled until this returns.
      }
    },
    stop: () => worker.terminate(),
  };
}

describe('deadline after a busy event loop', () => {
  it('lets work whose answer arrived while the loop was busy win over the timer that expired meanwhile', async () => {
    const pending = await answerWaitingBehindExpiredTimer(20);
    try {
      const raced = withDeadline(pending.answer, 20, () => 'late');
      pending.blockUntilBothReady();
      await expect(raced).resolves.toBe('answer');
    } finally {
      await pending.stop();
    }
  });

  it('still gives the fallback after a busy loop when the work has no answer waiting', async () => {
    const raced = withDeadline(new Promise<string>(() => {}), 5, () => 'late');
    const start = Date.now();
    while (Date.now() - start <= 20) {
      // Busy past the deadline.
    }
    await expect(raced).resolves.toBe('late');
  });
});

describe('bounded pool', () => {
  it('runs at most the limit at once and keeps the results in order', async () => {
    let running = 0;
    let most = 0;
    const results = await mapLimited([5, 4, 3, 2, 1, 0], 2, async (n, i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return `${i}:${n * 10}`;
    });
    expect(results).toEqual(['0:50', '1:40', '2:30', '3:20', '4:10', '5:0']);
    expect(most).toBe(2);
  });

  it('runs one at a time when asked for none', async () => {
    let running = 0;
    let most = 0;
    await mapLimited([1, 2, 3], 0, async () => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
    });
    expect(most).toBe(1);
  });
});

describe('wakeable nap', () => {
  /** Starts a nap of an hour and tells, after the current turn of the event loop, whether it has ended. */
  async function startNap(...wakeups: Wakeup[]) {
    let ended = false;
    const napping = nap(3_600_000, ...wakeups).then(() => {
      ended = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    return { napping, ended: () => ended };
  }

  it('ends when one of its wakeups is woken', async () => {
    const shard = new Wakeup();
    const runner = new Wakeup();
    const started = await startNap(runner, shard);
    expect(started.ended()).toBe(false);
    shard.wake();
    await started.napping;
    expect(started.ended()).toBe(true);
  });

  it('is not cut short by a wake that came before it started', async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    const started = await startNap(wakeup);
    expect(started.ended()).toBe(false);
    wakeup.wake();
    await started.napping;
    expect(started.ended()).toBe(true);
  });
});
