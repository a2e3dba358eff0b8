import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { MemoryCheckpointStore } from '../../tools/local/checkpoint-store';
import { StreamRunner, type StreamRunnerLog } from '../../tools/local/stream-runner';
import { InMemoryStream } from '../fixtures/in-memory-stream';

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
        await sleep(20);
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
