import {
  fullJitterDelay,
  type RetryPolicy,
  sendWithRetry,
} from '../../src/adapters/dynamodb/retry-unprocessed';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };

describe('retrying unprocessed batch items', () => {
  it('re-sends only what the previous call left unprocessed until nothing is left', async () => {
    const calls: string[][] = [];
    const leftOver = [['b', 'c'], ['c'], []];
    const send = async (items: string[]) => {
      calls.push(items);
      return leftOver[calls.length - 1] ?? [];
    };

    const left = await sendWithRetry(['a', 'b', 'c'], send, {
      policy,
      sleep: async () => {},
      random: () => 1,
    });

    expect(left).toEqual([]);
    expect(calls).toEqual([['a', 'b', 'c'], ['b', 'c'], ['c']]);
  });

  it('waits an exponentially growing, capped, jittered time before each retry', async () => {
    const waits: number[] = [];
    const send = async (items: string[]) => items;

    await sendWithRetry(['a'], send, {
      policy: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1000 },
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
    });

    expect(waits).toEqual([50, 100, 200, 400, 500]);
  });

  it('gives up after the last attempt and returns what is still unprocessed', async () => {
    let calls = 0;
    const send = async (items: string[]) => {
      calls++;
      return items.slice(1);
    };

    const left = await sendWithRetry(['a', 'b', 'c', 'd', 'e', 'f', 'g'], send, {
      policy,
      sleep: async () => {},
    });

    expect(calls).toBe(5);
    expect(left).toEqual(['f', 'g']);
  });

  it('does not wait before the first call or after a call that left nothing', async () => {
    const waits: number[] = [];

    await sendWithRetry(['a'], async () => [], {
      policy,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });

    expect(waits).toEqual([]);
  });

  it('draws full jitter: anywhere from 0 up to the capped exponential delay', () => {
    expect(fullJitterDelay(1, policy, () => 0)).toBe(0);
    expect(fullJitterDelay(1, policy, () => 0.999)).toBe(99);
    expect(fullJitterDelay(3, policy, () => 0.999)).toBe(399);
    expect(fullJitterDelay(10, policy, () => 0.999)).toBe(999);
  });
});
