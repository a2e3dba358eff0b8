import { EventEmitter } from 'node:events';
import { RedisCircuitBreaker, redisTarget } from '../../src/adapters/redis/circuit-breaker';
import { CacheUnavailableError } from '../../src/errors';
import type { KeywordIndexStore } from '../../src/snapshot';
import { GuardedKeywordIndexStore } from '../../src/snapshot';

/** A log that keeps its lines, and a clock the test moves by hand. */
function setup(options: { probe?: () => Promise<unknown>; failureThreshold?: number } = {}) {
  const lines: { level: 'warn' | 'info'; message: string; extra: Record<string, unknown> }[] = [];
  let now = 1_000;
  const breaker = new RedisCircuitBreaker({
    target: '127.0.0.1:6379',
    now: () => now,
    probeIntervalMs: 1000,
    log: {
      warn: (message, extra) => lines.push({ level: 'warn', message, extra }),
      info: (message, extra) => lines.push({ level: 'info', message, extra }),
    },
    ...options,
  });
  return {
    breaker,
    lines,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('RedisCircuitBreaker', () => {
  it('passes operations through while Redis answers', async () => {
    const { breaker, lines } = setup();
    await expect(breaker.run(async () => 'PONG')).resolves.toBe('PONG');
    expect(breaker.isOpen).toBe(false);
    expect(breaker.stats.attempts).toBe(1);
    expect(lines).toEqual([]);
  });

  it('opens on a connection error and then refuses at once without touching Redis, warning once', async () => {
    const { breaker, lines } = setup();
    for (let i = 0; i < 20; i++) breaker.connectionLost(refused());
    const operation = jest.fn(async () => 'never');
    for (let i = 0; i < 50; i++) {
      await expect(breaker.run(operation)).rejects.toBeInstanceOf(CacheUnavailableError);
    }
    expect(operation).not.toHaveBeenCalled();
    expect(breaker.stats).toMatchObject({ attempts: 0, rejections: 50, opened: 1 });
    expect(lines.map((line) => line.level)).toEqual(['warn']);
    expect(lines[0]?.extra).toMatchObject({ redis: '127.0.0.1:6379' });
    expect(String(lines[0]?.extra.error)).toMatch(/ECONNREFUSED/);
  });

  it('lets go of operations that were waiting on Redis when it opened', async () => {
    const { breaker } = setup();
    const stuck = breaker.run(() => new Promise<string>(() => {}));
    breaker.connectionLost(refused());
    await expect(stuck).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(breaker.stats.released).toBe(1);
  });

  it('opens when an operation fails with a lost connection, but not when Redis answered with an error', async () => {
    const { breaker } = setup();
    const replyError = Object.assign(new Error('ERR wrong number of arguments'), { name: 'ReplyError' });
    for (let i = 0; i < 5; i++) {
      await expect(breaker.run(() => Promise.reject(replyError))).rejects.toBe(replyError);
    }
    expect(breaker.isOpen).toBe(false);
    const lost = Object.assign(new Error('Reached the max retries per request limit (which is 1).'), {
      name: 'MaxRetriesPerRequestError',
    });
    await expect(breaker.run(() => Promise.reject(lost))).rejects.toBe(lost);
    expect(breaker.isOpen).toBe(true);
  });

  it('opens after failureThreshold other failures in a row; a success in between starts the count again', async () => {
    const { breaker } = setup({ failureThreshold: 3 });
    const slow = () => Promise.reject(new Error('the snapshot update did not finish within 5000 ms'));
    await expect(breaker.run(slow)).rejects.toThrow();
    await expect(breaker.run(slow)).rejects.toThrow();
    await breaker.run(async () => 'ok');
    await expect(breaker.run(slow)).rejects.toThrow();
    await expect(breaker.run(slow)).rejects.toThrow();
    expect(breaker.isOpen).toBe(false);
    await expect(breaker.run(slow)).rejects.toThrow();
    expect(breaker.isOpen).toBe(true);
  });

  it('probes at most once per interval, in the background, and closes when the probe answers', async () => {
    let answer: 'down' | 'up' = 'down';
    const probe = jest.fn(async () => {
      if (answer === 'down') throw refused();
      return 'PONG';
    });
    const { breaker, lines, advance } = setup({ probe });
    breaker.connectionLost(refused());

    // Within the interval after opening: refused, no probe.
    advance(500);
    await expect(breaker.run(async () => 1)).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(probe).not.toHaveBeenCalled();

    // Past it: the refused call starts one probe (and does not wait for it); more calls start no more.
    advance(600);
    for (let i = 0; i < 10; i++) {
      await expect(breaker.run(async () => 1)).rejects.toBeInstanceOf(CacheUnavailableError);
    }
    await settle();
    expect(probe).toHaveBeenCalledTimes(1);
    expect(breaker.isOpen).toBe(true);

    answer = 'up';
    advance(999);
    await expect(breaker.run(async () => 1)).rejects.toBeInstanceOf(CacheUnavailableError);
    await settle();
    expect(probe).toHaveBeenCalledTimes(1);
    advance(1);
    await expect(breaker.run(async () => 1)).rejects.toBeInstanceOf(CacheUnavailableError);
    await settle();
    expect(probe).toHaveBeenCalledTimes(2);
    expect(breaker.isOpen).toBe(false);
    await expect(breaker.run(async () => 'back')).resolves.toBe('back');
    expect(lines.map((line) => line.level)).toEqual(['warn', 'info']);
    expect(lines[1]?.extra).toMatchObject({ downMs: 2100, detectedBy: 'probe' });
  });

  it('closes when the client reconnects, logging one info line per outage', async () => {
    const { breaker, lines } = setup();
    breaker.connectionReady();
    expect(lines).toEqual([]);
    breaker.connectionLost(refused());
    breaker.connectionReady();
    breaker.connectionReady();
    breaker.connectionLost(refused());
    breaker.connectionLost(refused());
    breaker.connectionReady();
    expect(lines.map((line) => line.level)).toEqual(['warn', 'info', 'warn', 'info']);
    expect(breaker.stats).toMatchObject({ opened: 2, closed: 2 });
  });

  it("listens to a client's error and ready events, so none is left unhandled", async () => {
    const client = Object.assign(new EventEmitter(), { ping: jest.fn(async () => 'PONG') });
    const { breaker } = setup();
    breaker.watch(client);
    // An EventEmitter throws on an 'error' nobody listens to; this one must not.
    expect(() => client.emit('error', refused())).not.toThrow();
    expect(breaker.isOpen).toBe(true);
    client.emit('ready');
    expect(breaker.isOpen).toBe(false);
  });

  it('names the server without its password', () => {
    expect(redisTarget('rediss://default:secret@cache.example.com:6380')).toBe('cache.example.com:6380');
    expect(redisTarget('redis://127.0.0.1')).toBe('127.0.0.1:6379');
  });
});

describe('stores behind the breaker', () => {
  it('refuse every keyword index call at once while the breaker is open, and pass them through once closed', async () => {
    const { breaker } = setup();
    const calls: string[] = [];
    const inner = new Proxy({} as KeywordIndexStore, {
      get: (_target, method: string) => async () => {
        calls.push(method);
        return method === 'claimBuild' ? 'claim' : null;
      },
    });
    const store = new GuardedKeywordIndexStore(inner, breaker);
    breaker.connectionLost(refused());

    await expect(store.read('b1', 'v1', ['term'])).rejects.toBeInstanceOf(CacheUnavailableError);
    await expect(store.beginUpdate('b1')).rejects.toBeInstanceOf(CacheUnavailableError);
    await expect(store.publishBuild('b1', 'c', 'v1', [])).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(calls).toEqual([]);

    breaker.connectionReady();
    await expect(store.claimBuild('b1')).resolves.toBe('claim');
    expect(calls).toEqual(['claimBuild']);
  });
});
