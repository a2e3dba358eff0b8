import { setTimeout as sleep } from 'node:timers/promises';
import { ScoreBuffer } from '../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../src/domain/types';
import { UnavailableError } from '../../src/errors';
import { SnapshotCache } from '../../src/snapshot';
import { FallbackGate, makeSearch, type SearchDeps } from '../../src/use-cases/search';
import { FakeBotRegistry, FakeChunkStore } from '../fixtures/fake-ports';
import { FakeSnapshotStore } from '../fixtures/fake-stream-ports';

/**
 * Many searches at once in one container: a bot is read once however many searches want it, and full
 * DynamoDB reads are bounded, the searches beyond the bound shed with 503.
 */
const QUERY = [1, 0, 0, 0];

function chunk(botId: string, n: number): StoredChunk {
  return {
    bot_id: botId,
    chunk_id: `c${n}`,
    embedding: new Float32Array([1, n * 0.5, 0.25, 0]),
    text: `text of c${n}`,
    filename: 'a.md',
    file_size: 10,
    chunk_index: n,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { n },
  };
}

/** A chunk store that counts full reads, how many run at once, and can hold them until released. */
class CountingChunkStore extends FakeChunkStore {
  fullReads = 0;
  running = 0;
  mostAtOnce = 0;
  private held: Promise<void> | null = null;
  private release: () => void = () => {};

  hold(): void {
    this.held = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  letGo(): void {
    this.held = null;
    this.release();
  }

  override async *readBot(botId: string, options: { withText: boolean }): AsyncIterable<StoredChunk[]> {
    this.fullReads += 1;
    this.running += 1;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    try {
      if (this.held !== null) await this.held;
      yield* super.readBot(botId, options);
    } finally {
      this.running -= 1;
    }
  }
}

async function world(options: { redis: boolean; gate?: FallbackGate; bots?: string[]; deadlineMs?: number }) {
  const botIds = options.bots ?? ['bot-1'];
  const bots = new FakeBotRegistry(4);
  const chunks = new CountingChunkStore();
  for (const botId of botIds) {
    bots.add(botId);
    await chunks.put(Array.from({ length: 40 }, (_, n) => chunk(botId, n)));
  }
  const snapshots = new FakeSnapshotStore();
  const deps: SearchDeps = {
    bots,
    chunks,
    snapshots: options.redis ? snapshots : null,
    cache: options.redis ? new SnapshotCache(snapshots) : null,
    scores: new ScoreBuffer(),
    logger: { warn: () => {}, info: () => {} },
    ...(options.gate === undefined ? {} : { fallback: options.gate }),
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
  };
  return { search: makeSearch(deps), chunks, snapshots };
}

describe('concurrent searches in one container', () => {
  it('read a bot without a snapshot once: the first read rebuilds it, the others answer from it', async () => {
    const { search, chunks } = await world({ redis: true });

    const answers = await Promise.all(Array.from({ length: 20 }, () => search('bot-1', QUERY, { limit: 3 })));

    expect(chunks.fullReads).toBe(1);
    expect(answers.filter((answer) => answer.source === 'dynamodb')).toHaveLength(1);
    for (const answer of answers)
      expect(answer.results.map((hit) => hit.chunk_id)).toEqual(['c0', 'c1', 'c2']);
  });

  it('read a bot whose snapshot Redis holds once into the container', async () => {
    const { search, snapshots, chunks } = await world({ redis: true });
    await search('bot-1', QUERY, { limit: 3 }); // builds the snapshot
    const registry = new FakeBotRegistry(4);
    registry.add('bot-1');
    const container = makeSearch({
      bots: registry,
      chunks,
      snapshots,
      cache: new SnapshotCache(snapshots),
      scores: new ScoreBuffer(),
      logger: { warn: () => {}, info: () => {} },
    });
    const readsBefore = snapshots.reads;

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => container('bot-1', QUERY, { limit: 3 })),
    );

    expect(snapshots.reads - readsBefore).toBe(1);
    expect(answers.every((answer) => answer.source === 'snapshot')).toBe(true);
  });

  it('bound full DynamoDB reads while Redis is down, and shed the searches beyond the bound with 503', async () => {
    const gate = new FallbackGate({ maxReads: 2, maxWaiting: 3, retryAfterSeconds: 1 });
    const botIds = Array.from({ length: 8 }, (_, i) => `bot-${i}`);
    const { search, chunks } = await world({ redis: false, gate, bots: botIds });
    chunks.hold();

    const settled = botIds.map((botId) =>
      search(botId, QUERY, { limit: 3 }).then(
        (answer) => ({ answer }),
        (error: unknown) => ({ error }),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    chunks.letGo();
    const outcomes = await Promise.all(settled);

    const shed = outcomes.flatMap((outcome) => ('error' in outcome ? [outcome.error] : []));
    expect(shed).toHaveLength(3);
    for (const error of shed) {
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as UnavailableError).retryAfterSeconds).toBe(1);
    }
    expect(outcomes.filter((outcome) => 'answer' in outcome)).toHaveLength(5);
    expect(chunks.fullReads).toBe(5);
    expect(chunks.mostAtOnce).toBe(2);
  });

  it('answer 503 with Retry-After when a search runs past its deadline, and a later search gets the rebuilt snapshot', async () => {
    const { search, chunks } = await world({ redis: true, deadlineMs: 30 });
    chunks.hold();

    const late = await search('bot-1', QUERY, { limit: 3 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    chunks.letGo();

    expect(late).toBeInstanceOf(UnavailableError);
    expect(late).toMatchObject({ dependency: 'deadline', retryAfterSeconds: 1 });
    expect((late as Error).message).toMatch(/ran past its 0.03 s deadline/);
    await sleep(10);
    const after = await search('bot-1', QUERY, { limit: 3 });
    expect(after.results.map((hit) => hit.chunk_id)).toEqual(['c0', 'c1', 'c2']);
    expect(chunks.fullReads).toBe(1);
  });
});
