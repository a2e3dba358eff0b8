import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { FailedBatch } from '../../tools/local/stream-runner';
import {
  createStreamTable,
  keyOf,
  putItems,
  readJsonLines,
  recordingHandler,
  startRunner,
  useStreamRunnerWorld,
} from '../fixtures/stream-runner-world';

/** The local stream runner delivering as Lambda does: events, partial responses, retries, bisection, on-failure. */
jest.setTimeout(60_000);

useStreamRunnerWorld();

describe('local stream runner', () => {
  it('delivers every record once, in stream order, as the event Lambda delivers', async () => {
    const { tableName, streamArn } = await createStreamTable();
    await putItems(tableName, 0, 25);
    const { calls, handler } = recordingHandler();
    const runner = await startRunner(tableName, handler, { batchSize: 10 });
    await runner.drain(20_000);

    const delivered = calls.flatMap((c) => c.keys);
    expect(delivered).toEqual(Array.from({ length: 25 }, (_, i) => `item-${String(i).padStart(4, '0')}`));
    expect(calls.map((c) => c.keys.length)).toEqual([10, 10, 5]);
    const sequenceNumbers = calls.flatMap((c) => c.sequenceNumbers);
    const sorted = [...sequenceNumbers].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(sequenceNumbers).toEqual(sorted);
    for (const { event, context } of calls) {
      expect(DynamoDBStreamSchema.safeParse(event).success).toBe(true);
      for (const record of event.Records) {
        expect(record.eventSourceARN).toBe(streamArn);
        expect(record.eventSource).toBe('aws:dynamodb');
        expect(record.eventVersion).toBe('1.1');
        expect(record.eventName).toBe('INSERT');
        expect(Number.isInteger(record.dynamodb?.ApproximateCreationDateTime)).toBe(true);
        expect(record.dynamodb?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
      }
      expect(context.functionName).toBe('streamSync');
      expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    }
    expect(new Set(calls.map((c) => c.context.awsRequestId)).size).toBe(calls.length);
  });

  it('honours batchItemFailures: redelivers from the failed record, never the ones before it', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 10);
    let failedOnce = false;
    const { calls, handler } = recordingHandler((event) => {
      const index = event.Records.findIndex((r) => r.dynamodb?.Keys?.pk?.S === 'item-0006');
      if (index >= 0 && !failedOnce) {
        failedOnce = true;
        return {
          batchItemFailures: [{ itemIdentifier: event.Records[index]?.dynamodb?.SequenceNumber ?? '' }],
        };
      }
      return { batchItemFailures: [] };
    });
    const runner = await startRunner(tableName, handler, {
      batchSize: 10,
      functionResponseType: 'ReportBatchItemFailures',
    });
    await runner.drain(20_000);

    expect(calls.map((c) => c.keys)).toEqual([
      Array.from({ length: 10 }, (_, i) => `item-000${i}`),
      ['item-0006', 'item-0007', 'item-0008', 'item-0009'],
    ]);
  });

  it('treats a batchItemFailures id that is not in the batch as a failure of the whole batch', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 3);
    const { calls, handler } = recordingHandler((_event, call) =>
      call === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-a-sequence-number' }] } : undefined,
    );
    const runner = await startRunner(tableName, handler, {
      batchSize: 10,
      functionResponseType: 'ReportBatchItemFailures',
    });
    await runner.drain(20_000);

    expect(calls.map((c) => c.keys)).toEqual([
      ['item-0000', 'item-0001', 'item-0002'],
      ['item-0000', 'item-0001', 'item-0002'],
    ]);
  });

  it('ignores batchItemFailures when the response type is not ReportBatchItemFailures, as Lambda does', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 3);
    const { calls, handler } = recordingHandler((event) => ({
      batchItemFailures: [{ itemIdentifier: event.Records[0]?.dynamodb?.SequenceNumber ?? '' }],
    }));
    const runner = await startRunner(tableName, handler, { batchSize: 10 });
    await runner.drain(20_000);

    expect(calls).toHaveLength(1);
  });

  it('sends a batch that keeps failing to the on-failure file after maximumRetryAttempts + 1 tries, then moves on', async () => {
    const { tableName, streamArn } = await createStreamTable();
    await putItems(tableName, 0, 6);
    const dir = await mkdtemp(join(tmpdir(), 'stream-runner-'));
    const failureFile = join(dir, 'on-failure.jsonl');
    const callbacks: FailedBatch[] = [];
    const { calls, handler } = recordingHandler((event) => {
      if (event.Records.some((r) => r.dynamodb?.Keys?.pk?.S === 'item-0001')) throw new Error('poison');
      return undefined;
    });
    const logged: string[] = [];
    const capture = (message: string) => void logged.push(message);
    const runner = await startRunner(
      tableName,
      handler,
      { batchSize: 3, maximumRetryAttempts: 2, bisectBatchOnFunctionError: false },
      {
        onFailureFile: failureFile,
        onFailure: (failed) => void callbacks.push(failed),
        log: { debug() {}, info: capture, warn: capture, error: capture },
      },
    );
    await runner.drain(20_000);
    await runner.stop();

    const poisonBatch = ['item-0000', 'item-0001', 'item-0002'];
    expect(calls.map((c) => c.keys)).toEqual([
      poisonBatch,
      poisonBatch,
      poisonBatch,
      ['item-0003', 'item-0004', 'item-0005'],
    ]);
    const lines = await readJsonLines(failureFile);
    expect(lines).toHaveLength(1);
    const [line] = lines;
    const sequenceNumbers = calls[0]?.sequenceNumbers ?? [];
    expect(line).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      DDBStreamBatchInfo: {
        startSequenceNumber: sequenceNumbers[0],
        endSequenceNumber: sequenceNumbers[2],
        batchSize: 3,
        streamArn,
      },
    });
    expect(line?.requestContext.functionArn).toMatch(/:function:streamSync$/);
    expect(line?.DDBStreamBatchInfo.shardId).toMatch(/^shardId-/);
    expect(line?.DDBStreamBatchInfo.approximateArrivalOfFirstRecord).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    expect(callbacks.map((c) => c.event.Records.map((_, i) => keyOf(c.event, i)))).toEqual([poisonBatch]);
    expect(callbacks[0]?.reason).toContain('poison');
    expect(runner.stats()).toMatchObject({ failedBatches: 1, failedRecords: 3, retries: 2 });
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/batch of 3 record\(s\) .* failed: handler threw Error: poison; retry 1\/2/),
        expect.stringMatching(
          /given up \(RetryAttemptsExhausted\) after 3 invocation\(s\).*on-failure\.jsonl/,
        ),
        'delivered 3 record(s) in 4 invocation(s); 2 retries, 0 bisections, 1 batch(es) (3 records) to on-failure',
      ]),
    );
  });

  it('bisects a batch with one poison record: the good records succeed, only the poison record goes to on-failure', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 8);
    const callbacks: FailedBatch[] = [];
    const succeeded: string[] = [];
    const { calls, handler } = recordingHandler((event) => {
      if (event.Records.some((r) => r.dynamodb?.Keys?.pk?.S === 'item-0005'))
        throw new Error('poison record');
      succeeded.push(...event.Records.map((_, i) => keyOf(event, i)));
      return undefined;
    });
    const runner = await startRunner(
      tableName,
      handler,
      { batchSize: 8, maximumRetryAttempts: 1, bisectBatchOnFunctionError: true },
      { onFailure: (failed) => void callbacks.push(failed) },
    );
    await runner.drain(20_000);

    expect(calls.map((c) => c.keys.length)).toEqual([8, 4, 4, 2, 1, 1, 1, 2]);
    expect(succeeded.sort()).toEqual(
      ['item-0000', 'item-0001', 'item-0002', 'item-0003', 'item-0004', 'item-0006', 'item-0007'].sort(),
    );
    expect(callbacks).toHaveLength(1);
    expect(callbacks[0]?.record.DDBStreamBatchInfo.batchSize).toBe(1);
    expect(keyOf(callbacks[0]?.event as DynamoDBStreamEvent, 0)).toBe('item-0005');
    expect(callbacks[0]?.record.requestContext.condition).toBe('RetryAttemptsExhausted');
  });
});
