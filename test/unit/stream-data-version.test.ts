import type { DynamoDBRecord } from 'aws-lambda';
import { type SyncStreamBatchDeps, syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
import { FakeBotStats } from '../fixtures/fake-stream-ports';
import { chunkItem, StreamEventFactory } from '../fixtures/stream-events';

/**
 * The bot's data_version over a plain fake of BotStats: every counts write moves it by one, records the
 * chunks it changed under the version it sets, and is refused when another write took that version.
 */
const DIM = 4;
const BOT = 'bot-v';

function world() {
  const stats = new FakeBotStats(DIM);
  const deps: SyncStreamBatchDeps = {
    stats,
    snapshots: null,
    log: { warn: () => {}, error: () => {} },
    defaultEmbeddingDimension: DIM,
    now: () => new Date('2026-02-03T04:05:06.000Z'),
  };
  return { deps, stats };
}

const item = (i: number, metadata?: Record<string, unknown>) => ({
  ...chunkItem(BOT, 'a.pdf', i, { dimension: DIM, chunkId: `c-${i}` }),
  ...(metadata === undefined ? {} : { metadata }),
});

const recorded = (stats: FakeBotStats) =>
  [...stats.changes.keys()].sort((a, b) => a - b).map((version) => [version, stats.changes.get(version)]);

describe('stream sync: the bot data_version and its change log', () => {
  it('moves the version once per counts write and records the chunks each version changed', async () => {
    const { deps, stats } = world();
    const events = new StreamEventFactory();

    await syncStreamBatch(deps, [events.insert(item(1)), events.insert(item(2))]);
    await syncStreamBatch(deps, [events.remove(item(1))]);

    expect(stats.dataVersion).toBe(2);
    expect(recorded(stats)).toEqual([
      [1, ['c-1', 'c-2']],
      [2, ['c-1']],
    ]);
  });

  it('moves the version for a change of metadata alone and for a TTL removal', async () => {
    const { deps, stats } = world();
    const events = new StreamEventFactory();
    await syncStreamBatch(deps, [events.insert(item(1)), events.insert(item(2))]);

    await syncStreamBatch(deps, [events.modify(item(1), item(1, { tag: 'new' }))]);
    const ttl: DynamoDBRecord = {
      ...events.remove(item(2)),
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    };
    await syncStreamBatch(deps, [ttl]);

    expect(stats.dataVersion).toBe(3);
    expect(stats.changes.get(2)).toEqual(['c-1']);
    expect(stats.changes.get(3)).toEqual(['c-2']);
  });

  it('leaves the version where it is when a delivery comes again', async () => {
    const { deps, stats } = world();
    const batch = [new StreamEventFactory().insert(item(1))];

    await syncStreamBatch(deps, batch);
    const again = await syncStreamBatch(deps, batch);

    expect(again).toMatchObject({ counted: 0, duplicates: 1 });
    expect(stats.dataVersion).toBe(1);
  });

  it('follows a version another shard took between its read and its write, recording every version once', async () => {
    const { deps, stats } = world();
    let raced = false;
    stats.beforeApply = () => {
      if (raced) return;
      raced = true;
      // Another shard of the bot commits version 1 first.
      stats.dataVersion = 1;
      stats.changes.set(1, ['elsewhere']);
    };

    const report = await syncStreamBatch(deps, [new StreamEventFactory().insert(item(7))]);

    expect(report).toMatchObject({ failures: [], counted: 1 });
    expect(stats.dataVersion).toBe(2);
    expect(recorded(stats)).toEqual([
      [1, ['elsewhere']],
      [2, ['c-7']],
    ]);
  });

  it('fails the records and leaves the version when the write cannot commit', async () => {
    const { deps, stats } = world();
    stats.apply = async () => {
      throw new Error('DynamoDB is unreachable');
    };
    const records = [new StreamEventFactory().insert(item(1))];

    const report = await syncStreamBatch(deps, records);

    expect(report.failures).toEqual([records[0]?.dynamodb?.SequenceNumber]);
    expect(stats.dataVersion).toBe(0);
    expect(stats.changes.size).toBe(0);
  });
});
