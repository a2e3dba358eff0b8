import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { StreamRunner, type StreamRunnerLog } from '../../tools/local/stream-runner';
import { keyText, stableHash, VirtualShardedStream } from '../../tools/local/virtual-shards';
import { InMemoryStream } from '../fixtures/in-memory-stream';

const quiet: StreamRunnerLog = { debug() {}, info() {}, warn() {}, error() {} };

jest.setTimeout(20_000);

/**
 * DynamoDB Local numbers stream records across all tables of its database. An iterator taken on a table's
 * empty shard points at the number the shard started with; when other tables wrote in the meantime, the
 * shard's first record has a higher number, and reading that iterator fails with TrimmedDataAccessException
 * (a fresh TRIM_HORIZON iterator reads fine). This source does the same over an InMemoryStream: every
 * iterator handed out while the shard was empty fails once records exist. `trimmedAlways` makes every read
 * fail, as a source that cannot be read at all.
 */
class FreshShardSource {
  readonly stream: InMemoryStream;
  readonly sequenceNumbers: number[] = [];
  private readonly beforeFirstRecord = new Set<string>();
  trimmedAnswers = 0;
  trimmedAlways = false;

  constructor() {
    this.stream = new InMemoryStream([
      {
        id: 'source',
        closed: false,
        sequenceNumbers: this.sequenceNumbers,
        itemOf: (n) => `item-${n % 12}`,
      },
    ]);
  }

  /** Writes `count` changes (items item-0..item-11 in turn), numbered after a gap other tables used. */
  write(count: number): void {
    const from = (this.sequenceNumbers[this.sequenceNumbers.length - 1] ?? 0) + 5;
    for (let i = 0; i < count; i++) this.sequenceNumbers.push(from + i);
  }

  private get inner(): { send(command: unknown): Promise<unknown> } {
    return this.stream.streams as unknown as { send(command: unknown): Promise<unknown> };
  }

  /** Each iterator handed out gets its own name (the inner stream's repeat), so a stale one is told apart. */
  private issued = 0;
  private name(inner: string | undefined, empty: boolean): string | undefined {
    if (inner === undefined) return undefined;
    const name = `${inner}#${++this.issued}`;
    if (empty) this.beforeFirstRecord.add(name);
    return name;
  }

  readonly client = {
    send: async (command: unknown): Promise<unknown> => {
      const empty = this.sequenceNumbers.length === 0;
      if (command instanceof GetRecordsCommand) {
        const iterator = command.input.ShardIterator ?? '';
        if (this.trimmedAlways || (!empty && this.beforeFirstRecord.has(iterator))) {
          this.trimmedAnswers += 1;
          throw new TrimmedDataAccessException({ message: 'read past the oldest record', $metadata: {} });
        }
        const inner = new GetRecordsCommand({ ...command.input, ShardIterator: iterator.split('#')[0] });
        const answer = (await this.inner.send(inner)) as GetRecordsCommandOutput;
        return { ...answer, NextShardIterator: this.name(answer.NextShardIterator, empty) };
      }
      const answer = await this.inner.send(command);
      if (command instanceof GetShardIteratorCommand) {
        return { ShardIterator: this.name((answer as { ShardIterator: string }).ShardIterator, empty) };
      }
      return answer;
    },
  } as unknown as DynamoDBStreamsClient;
}

const twoShards = (source: FreshShardSource) =>
  new VirtualShardedStream(source.client, { shards: 2, shardOf: (keys) => stableHash(keyText(keys)) });

const versionOf = (record: _Record | DynamoDBRecord) => Number(record.dynamodb?.NewImage?.n?.N);

/** The view's answer to GetRecords on one of its shards, from the shard's start. */
async function readShard(view: VirtualShardedStream, shardId: string): Promise<_Record[]> {
  const client = view.asClient();
  const { ShardIterator } = await client.send(
    new GetShardIteratorCommand({ StreamArn: 'arn', ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  const answer = await client.send(new GetRecordsCommand({ ShardIterator }));
  return answer.Records ?? [];
}

describe('virtual shards over a fresh DynamoDB Local shard', () => {
  it('answers every call with all records written before it, even when the source iterator is trimmed', async () => {
    const source = new FreshShardSource();
    const view = twoShards(source);
    const client = view.asClient();
    // The runner's first calls, on a table nothing was written to yet: the view keeps its source iterator.
    await client.send(new DescribeStreamCommand({ StreamArn: source.stream.streamArn }));
    expect(await readShard(view, 'shard-000')).toEqual([]);

    source.write(12);
    const first = await readShard(view, 'shard-000');
    const second = await readShard(view, 'shard-001');

    expect(source.trimmedAnswers).toBeGreaterThan(0);
    expect([...first, ...second].map(versionOf).sort((a, b) => a - b)).toEqual(source.sequenceNumbers);
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
  });

  it('fails a call whose source shard cannot be read, as an error the runner does not take for a trim of its own', async () => {
    const source = new FreshShardSource();
    const view = twoShards(source);
    await view.asClient().send(new DescribeStreamCommand({ StreamArn: source.stream.streamArn }));
    source.write(3);
    source.trimmedAlways = true;

    const read = readShard(view, 'shard-000');
    await expect(read).rejects.toThrow(/source shard source/);
    await expect(read).rejects.not.toMatchObject({ name: 'TrimmedDataAccessException' });
  });

  it("drains only after both shards' records were delivered when the first read after the writes is trimmed", async () => {
    const source = new FreshShardSource();
    const view = twoShards(source);
    const delivered: DynamoDBRecord[] = [];
    const runner = new StreamRunner({
      streamsClient: view.asClient(),
      dynamodbClient: source.stream.dynamodb,
      tableName: 'T',
      functionName: 'f',
      settings: { batchSize: 100 },
      log: quiet,
      // Long naps: a shard that was answered "nothing new" by mistake would not look again before the drain ends.
      pollIntervalMs: 2000,
      shardRefreshIntervalMs: 60_000,
      handler: async (event) => {
        delivered.push(...event.Records);
      },
    });
    await runner.start();
    try {
      await runner.drain(10_000);
      source.write(12);
      await runner.drain(10_000);
      expect(source.trimmedAnswers).toBeGreaterThan(0);
      expect(delivered.map(versionOf).sort((a, b) => a - b)).toEqual(source.sequenceNumbers);
    } finally {
      await runner.stop();
    }
  });
});
