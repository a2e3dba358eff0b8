import type { DynamoDBStreamEvent } from 'aws-lambda';
import { type FailedBatch, StreamRunner, type StreamRunnerLog } from '../../tools/local/stream-runner';
import { InMemoryStream } from '../fixtures/in-memory-stream';

const quiet: StreamRunnerLog = { debug() {}, info() {}, warn() {}, error() {} };
const hour = 3_600_000;

function sequence(event: DynamoDBStreamEvent): number[] {
  return event.Records.map((r) => Number(r.dynamodb?.SequenceNumber));
}

async function run(
  stream: InMemoryStream,
  handler: (event: DynamoDBStreamEvent) => Promise<void>,
  settings: ConstructorParameters<typeof StreamRunner>[0]['settings'],
) {
  const failed: FailedBatch[] = [];
  const runner = new StreamRunner({
    streamsClient: stream.streams,
    dynamodbClient: stream.dynamodb,
    tableName: 'T',
    functionName: 'f',
    handler,
    settings,
    log: quiet,
    pollIntervalMs: 5,
    retryDelayMs: { base: 1, max: 5 },
    onFailure: (batch) => void failed.push(batch),
  });
  await runner.start();
  await runner.drain(10_000);
  await runner.stop();
  return failed;
}

describe('maximumRecordAgeInSeconds', () => {
  it('sends records already too old to on-failure without invoking the handler, and delivers the rest', async () => {
    const stream = new InMemoryStream([
      {
        id: 'shard-1',
        closed: false,
        sequenceNumbers: [1, 2, 3, 4],
        createdAt: (n) => (n <= 2 ? Date.now() - 2 * hour : Date.now()),
      },
    ]);
    const invoked: number[][] = [];
    const failed = await run(stream, async (event) => void invoked.push(sequence(event)), {
      maximumRecordAgeInSeconds: 3600,
    });

    expect(invoked).toEqual([[3, 4]]);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.record.requestContext).toMatchObject({
      condition: 'RecordAgeExceeded',
      approximateInvokeCount: 0,
    });
    expect(failed[0]?.record.DDBStreamBatchInfo).toMatchObject({
      startSequenceNumber: '000000000000000000001',
      endSequenceNumber: '000000000000000000002',
      batchSize: 2,
    });
  });

  it('stops retrying a failing batch once a record in it is too old, even with unlimited retries', async () => {
    const written = Date.now() - hour + 150;
    const stream = new InMemoryStream([
      { id: 'shard-1', closed: false, sequenceNumbers: [1, 2], createdAt: () => written },
    ]);
    let invocations = 0;
    const failed = await run(
      stream,
      async () => {
        invocations++;
        throw new Error('still failing');
      },
      { maximumRecordAgeInSeconds: 3600, maximumRetryAttempts: -1 },
    );

    expect(invocations).toBeGreaterThan(1);
    expect(failed.map((f) => f.record.requestContext.condition)).toEqual(['RecordAgeExceeded']);
    expect(failed[0]?.record.requestContext.approximateInvokeCount).toBe(invocations);
    expect(failed[0]?.record.responseContext.functionError).toBe('Unhandled');
    expect(failed[0]?.reason).toContain('still failing');
  });
});
