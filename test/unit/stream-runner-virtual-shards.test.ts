import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { StreamRunner, type StreamRunnerLog } from '../../tools/local/stream-runner';
import { keyText, stableHash, VirtualShardedStream } from '../../tools/local/virtual-shards';
import { InMemoryStream } from '../fixtures/in-memory-stream';

const quiet: StreamRunnerLog = { debug() {}, info() {}, warn() {}, error() {} };

jest.setTimeout(20_000);

/** 60 changes of 12 items (item = n % 12) in one source shard, as DynamoDB Local keeps a stream. */
const source = () =>
  new InMemoryStream([
    {
      id: 'source',
      closed: true,
      sequenceNumbers: Array.from({ length: 60 }, (_, i) => i + 1),
      itemOf: (n) => `item-${n % 12}`,
    },
  ]);

const itemOf = (record: DynamoDBRecord) => record.dynamodb?.Keys?.pk?.S ?? '';
const versionOf = (record: DynamoDBRecord) => Number(record.dynamodb?.NewImage?.n?.N);

async function run(view: VirtualShardedStream, stream: InMemoryStream) {
  const events: { shard: string; records: DynamoDBRecord[] }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const runner = new StreamRunner({
    streamsClient: view.asClient(),
    dynamodbClient: stream.dynamodb,
    tableName: 'T',
    functionName: 'f',
    settings: { batchSize: 4 },
    log: quiet,
    pollIntervalMs: 5,
    handler: async (event: DynamoDBStreamEvent) => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await sleep(5);
      running -= 1;
      events.push({ shard: '', records: event.Records });
    },
  });
  await runner.start();
  await runner.drain(10_000);
  await runner.stop();
  return { records: events.flatMap((event) => event.records), mostAtOnce };
}

describe('virtual shards for the local runner', () => {
  it('spreads items over shards, keeps each item in order, and delivers the shards at the same time', async () => {
    const stream = source();
    const view = new VirtualShardedStream(stream.streams, {
      shards: 3,
      shardOf: (keys) => stableHash(keyText(keys)),
    });
    const { records, mostAtOnce } = await run(view, stream);

    expect(records.map(versionOf).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    for (let item = 0; item < 12; item++) {
      const versions = records.filter((r) => itemOf(r) === `item-${item}`).map(versionOf);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    const sizes = Object.values(view.shardSizes());
    expect(sizes.filter((size) => size > 0).length).toBeGreaterThan(1);
    expect(mostAtOnce).toBeGreaterThan(1);
  });

  it('splits a shard mid-run: the parent is delivered to its end first, children number below it', async () => {
    const stream = source();
    const view = new VirtualShardedStream(stream.streams, {
      shards: 1,
      shardOf: () => 0,
      splits: [{ shard: 0, afterRecords: 20, children: 2 }],
    });
    const { records } = await run(view, stream);

    expect(records.map(versionOf)).toHaveLength(60);
    // The first 20 changes are the parent's, delivered before any child's.
    expect(records.slice(0, 20).map(versionOf)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (let item = 0; item < 12; item++) {
      const versions = records.filter((r) => itemOf(r) === `item-${item}`).map(versionOf);
      expect(versions).toEqual([...versions].sort((a, b) => a - b));
    }
    const parentLast = BigInt(records[19]?.dynamodb?.SequenceNumber ?? '0');
    const childFirst = BigInt(records[20]?.dynamodb?.SequenceNumber ?? '0');
    expect(childFirst < parentLast).toBe(true);
    expect(Object.keys(view.shardSizes())).toEqual(['shard-000', 'shard-000-0', 'shard-000-1']);
  });
});
