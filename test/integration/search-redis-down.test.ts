import { randomUUID } from 'node:crypto';
import { createRedisClient } from '../../src/redis-client';
import { type LocalService, startRedisServer } from '../../tools/local/stack';
import { randomChunks, randomVector, rng, type SearchWorld, searchWorld } from '../fixtures/search-world';
import { waitUntil } from '../fixtures/wait';

const dimension = 16;
let redisServer: LocalService;
let world: SearchWorld;

beforeAll(async () => {
  // A private redis-server: this test stops and restarts it.
  redisServer = await startRedisServer();
  world = searchWorld({ redisUrl: redisServer.url });
});

afterAll(async () => {
  await world?.close();
  await redisServer?.stop();
});

/** Redis answers again (the client reconnects on its own). */
const untilRedisAnswers = () =>
  waitUntil('Redis to come back', () => world.redis.ping().catch(() => false), { timeoutMs: 20_000 });

describe('search while Redis is down', () => {
  it('answers from DynamoDB with the same results, warns once, stops calling Redis, and uses the snapshot again once Redis is back', async () => {
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
    await world.chunks.put(randomChunks(botId, 200, dimension, rng(31)));
    const query = randomVector(dimension, rng(32));
    await world.search(botId, query, { limit: 5 });
    const cached = await world.search(botId, query, { limit: 5 });
    expect(cached.source).toBe('snapshot');

    await redisServer.stop();
    const whileDown = await world.search(botId, query, { limit: 5 });
    expect(whileDown.source).toBe('dynamodb');
    expect(whileDown.results.map((hit) => [hit.chunk_id, hit.text])).toEqual(
      cached.results.map((hit) => [hit.chunk_id, hit.text]),
    );
    whileDown.results.forEach((hit, i) => {
      expect(Math.abs(hit.score - (cached.results[i]?.score as number))).toBeLessThan(1e-6);
    });
    // Whichever noticed first (the failed call or the client's reconnection), the outage is reported.
    expect(world.logger.warnings.some((w) => /Redis is unreachable|Redis unavailable/.test(w))).toBe(true);

    // Once Redis is known to be down, searches do not touch it: each answers without a connect attempt.
    await waitUntil('the circuit breaker to open', () => world.breaker.isOpen, { timeoutMs: 20_000 });
    const attempts = world.breaker.stats.attempts;
    const warnings = world.logger.warnings.length;
    for (let i = 0; i < 10; i++) {
      const answer = await world.search(botId, query, { limit: 5 });
      expect(answer.source).toBe('dynamodb');
      expect(answer.results.map((hit) => hit.chunk_id)).toEqual(cached.results.map((hit) => hit.chunk_id));
    }
    expect(world.breaker.stats.attempts).toBe(attempts);
    expect(world.logger.warnings.length).toBe(warnings);
    expect(world.logger.warnings.filter((w) => /Redis is unreachable/.test(w))).toHaveLength(1);

    // Same port, empty memory: what a restarted (or failed-over) cache node looks like.
    redisServer = await startRedisServer({ port: redisServer.port });
    await untilRedisAnswers();
    await waitUntil('the circuit breaker to close', () => !world.breaker.isOpen, { timeoutMs: 20_000 });
    expect(world.logger.infos.filter((line) => /Redis answers again/.test(line))).toHaveLength(1);
    const afterRestart = await world.search(botId, query, { limit: 5 });
    const rebuilt = await world.search(botId, query, { limit: 5 });
    expect(afterRestart.source).toBe('dynamodb');
    expect(rebuilt.source).toBe('snapshot');
    expect(rebuilt.results.map((hit) => hit.chunk_id)).toEqual(cached.results.map((hit) => hit.chunk_id));
  });

  it('answers from DynamoDB while Redis hangs, without waiting for it', async () => {
    await untilRedisAnswers();
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
    await world.chunks.put(randomChunks(botId, 50, dimension, rng(33)));
    const query = randomVector(dimension, rng(34));
    await world.search(botId, query, { limit: 3 });
    const cached = await world.search(botId, query, { limit: 3 });
    expect(cached.source).toBe('snapshot');

    // Redis stops answering every client for 4 s (a stalled node); the version check gives up after 1 s.
    const admin = createRedisClient(redisServer.url);
    await admin.call('CLIENT', 'PAUSE', '4000', 'ALL');
    const whilePaused = await world.search(botId, query, { limit: 3 });
    admin.disconnect();

    expect(whilePaused.source).toBe('dynamodb');
    expect(whilePaused.results.map((hit) => hit.chunk_id)).toEqual(cached.results.map((hit) => hit.chunk_id));
    // Answered once the pause is over.
    await world.redis.ping();
    expect((await world.search(botId, query, { limit: 3 })).source).toBe('snapshot');
  });
});
