import { Logger } from '@aws-lambda-powertools/logger';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { MemoryCheckpointStore } from '../../src/local/checkpoint-store';
import { StreamRunner, type StreamRunnerLog } from '../../src/local/stream-runner';

/**
 * DynamoDB Local keeps a table's stream in one shard that never closes, so shard lineage cannot be
 * produced there. This in-memory stream answers the four Streams calls the runner makes, with a closed
 * parent shard, its children and an unrelated root, to check the runner's ordering across shards.
 */
class InMemoryStream {
  readonly streamArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2026-01-01T00:00:00.000';
  readonly describeCalls: (string | undefined)[] = [];

  constructor(
    private readonly shards: { id: string; parent?: string; closed: boolean; sequenceNumbers: number[] }[],
  ) {}

  private record(shardId: string, sequenceNumber: number): _Record {
    return {
      eventID: `${shardId}-${sequenceNumber}`,
      eventName: 'INSERT',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: new Date(),
        Keys: { pk: { S: 'same-item' } },
        NewImage: { pk: { S: 'same-item' }, n: { N: String(sequenceNumber) } },
        SequenceNumber: String(sequenceNumber).padStart(21, '0'),
        SizeBytes: 10,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
  }

  readonly streams = {
    send: async (command: unknown): Promise<unknown> => {
      if (command instanceof DescribeStreamCommand) {
        // One shard per page, so the runner has to follow LastEvaluatedShardId.
        const start = command.input.ExclusiveStartShardId;
        this.describeCalls.push(start);
        const index = start === undefined ? 0 : this.shards.findIndex((s) => s.id === start) + 1;
        const shard = this.shards[index];
        const page: Shard[] =
          shard === undefined
            ? []
            : [
                {
                  ShardId: shard.id,
                  ParentShardId: shard.parent,
                  SequenceNumberRange: {
                    StartingSequenceNumber: '1',
                    EndingSequenceNumber: shard.closed ? '999' : undefined,
                  },
                },
              ];
        const more = index + 1 < this.shards.length;
        return { StreamDescription: { Shards: page, LastEvaluatedShardId: more ? shard?.id : undefined } };
      }
      if (command instanceof GetShardIteratorCommand) {
        const { ShardId, ShardIteratorType, SequenceNumber } = command.input;
        const after = ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' ? Number(SequenceNumber) : 0;
        return { ShardIterator: `${ShardId}|${after}` };
      }
      if (command instanceof GetRecordsCommand) {
        const [shardId, after] = (command.input.ShardIterator ?? '').split('|');
        const shard = this.shards.find((s) => s.id === shardId);
        if (shard === undefined) throw new Error(`no shard ${shardId}`);
        const pending = shard.sequenceNumbers.filter((n) => n > Number(after));
        const page = pending.slice(0, command.input.Limit ?? 1000);
        const last = page.length > 0 ? (page[page.length - 1] as number) : Number(after);
        const atEnd = page.length === pending.length;
        return {
          Records: page.map((n) => this.record(shard.id, n)),
          NextShardIterator: shard.closed && atEnd ? undefined : `${shard.id}|${last}`,
        };
      }
      throw new Error(`unexpected command ${String(command)}`);
    },
  } as unknown as DynamoDBStreamsClient;

  readonly dynamodb = {
    config: { region: async () => 'us-east-1' },
    send: async (command: unknown) => {
      if (!(command instanceof DescribeTableCommand)) throw new Error('unexpected DynamoDB call');
      return { Table: { LatestStreamArn: this.streamArn, StreamSpecification: { StreamEnabled: true } } };
    },
  } as unknown as DynamoDBClient;
}

const quiet: StreamRunnerLog = { debug() {}, info() {}, warn() {}, error() {} };

function deliveredSequence(events: DynamoDBStreamEvent[]): number[] {
  return events.flatMap((e) => e.Records.map((r) => Number(r.dynamodb?.SequenceNumber)));
}

jest.setTimeout(20_000);

describe('shard lineage in the runner', () => {
  const lineage = () =>
    new InMemoryStream([
      { id: 'shard-child', parent: 'shard-parent', closed: true, sequenceNumbers: [20, 21, 22] },
      { id: 'shard-grandchild', parent: 'shard-child', closed: false, sequenceNumbers: [40, 41] },
      { id: 'shard-parent', closed: true, sequenceNumbers: [1, 2, 3, 4, 5] },
      { id: 'shard-sibling', parent: 'shard-parent', closed: true, sequenceNumbers: [30] },
    ]);

  it('delivers a closed parent to its end before any record of its children', async () => {
    const stream = lineage();
    const events: DynamoDBStreamEvent[] = [];
    const runner = new StreamRunner({
      streamsClient: stream.streams,
      dynamodbClient: stream.dynamodb,
      tableName: 'T',
      functionName: 'f',
      settings: { batchSize: 2 },
      log: quiet,
      pollIntervalMs: 5,
      handler: async (event) => {
        events.push(event);
        // Slow parent batches: a child read too early would interleave with them.
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    await runner.start();
    await runner.drain(10_000);
    await runner.stop();

    const delivered = deliveredSequence(events);
    expect(delivered.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    const lineOfChild = delivered.filter((n) => (n >= 20 && n < 30) || n >= 40);
    expect(lineOfChild).toEqual([20, 21, 22, 40, 41]);
    expect(delivered.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 20, 21, 22, 30, 40, 41]);
    expect(events.every((e) => e.Records.every((r) => r.eventSourceARN === stream.streamArn))).toBe(true);
    expect(stream.describeCalls.slice(0, 4)).toEqual([
      undefined,
      'shard-child',
      'shard-grandchild',
      'shard-parent',
    ]);
    expect(runner.stats().shardsFinished).toBe(3);
  });

  it('after a restart, skips finished shards and resumes the open shard after its checkpoint', async () => {
    const checkpoints = new MemoryCheckpointStore();
    const stream = lineage();
    const first: DynamoDBStreamEvent[] = [];
    const options = {
      streamsClient: stream.streams,
      dynamodbClient: stream.dynamodb,
      tableName: 'T',
      functionName: 'f',
      settings: { batchSize: 10 },
      // A Powertools Logger fits the runner's log as is.
      log: new Logger({ logLevel: 'SILENT' }),
      pollIntervalMs: 5,
      checkpoints,
    };
    const runner = new StreamRunner({ ...options, handler: async (e) => void first.push(e) });
    await runner.start();
    await runner.drain(10_000);
    await runner.stop();
    const second: DynamoDBStreamEvent[] = [];
    const restarted = new StreamRunner({ ...options, handler: async (e) => void second.push(e) });
    await restarted.start();
    await restarted.drain(10_000);
    await restarted.stop();

    expect(deliveredSequence(first).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 20, 21, 22, 30, 40, 41]);
    expect(second).toEqual([]);
    const saved = await checkpoints.load(`f|${stream.streamArn}`);
    expect(saved).toEqual({
      'shard-parent': { sequenceNumber: '000000000000000000005', finished: true },
      'shard-sibling': { sequenceNumber: '000000000000000000030', finished: true },
      'shard-child': { sequenceNumber: '000000000000000000022', finished: true },
      'shard-grandchild': { sequenceNumber: '000000000000000000041' },
    });
  });
});
