import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { parse } from 'yaml';
import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { DrainTimeoutError } from '../../src/errors';
import { createTableInput } from '../../src/tables/definition';
import type { OnFailureRecord } from '../../tools/local/on-failure-destination';
import {
  type FailedBatch,
  FileCheckpointStore,
  loadStreamSettings,
  MemoryCheckpointStore,
  StreamRunner,
  type StreamRunnerLog,
  type StreamRunnerOptions,
} from '../../tools/local/stream-runner';
import type { StreamSettings } from '../../tools/local/stream-settings';

jest.setTimeout(60_000);

const config = loadConfig(process.env);
const dynamodb = createDynamoDbClient(config);
const streams = new DynamoDBStreamsClient({
  region: config.region,
  endpoint: config.dynamodbEndpoint,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
const quiet: StreamRunnerLog = { debug() {}, info() {}, warn() {}, error() {} };
const tables: string[] = [];
const runners: StreamRunner[] = [];

afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await Promise.all(
    tables.map((t) => dynamodb.send(new DeleteTableCommand({ TableName: t })).catch(() => {})),
  );
  dynamodb.destroy();
  streams.destroy();
});

/** A small table with a stream (NEW_AND_OLD_IMAGES), unique per test. */
async function createStreamTable(
  client: DynamoDBClient = dynamodb,
): Promise<{ tableName: string; streamArn: string }> {
  const tableName = `stream-runner-${randomUUID()}`;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  tables.push(tableName);
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return { tableName, streamArn: Table?.LatestStreamArn ?? '' };
}

async function putItems(tableName: string, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    await dynamodb.send(
      new PutItemCommand({ TableName: tableName, Item: { pk: { S: `item-${String(i).padStart(4, '0')}` } } }),
    );
  }
}

type Call = { sequenceNumbers: string[]; keys: string[]; event: DynamoDBStreamEvent; context: Context };

/** A toy handler that records what it received; `answer` decides what each call returns or throws. */
function recordingHandler(
  answer: (event: DynamoDBStreamEvent, call: number) => DynamoDBBatchResponse | undefined = () => undefined,
) {
  const calls: Call[] = [];
  const handler = async (event: DynamoDBStreamEvent, context: Context) => {
    calls.push({
      sequenceNumbers: event.Records.map((r) => r.dynamodb?.SequenceNumber ?? ''),
      keys: event.Records.map((r) => r.dynamodb?.Keys?.pk?.S ?? ''),
      event,
      context,
    });
    return answer(event, calls.length);
  };
  return { calls, handler };
}

function keyOf(event: DynamoDBStreamEvent, index: number): string {
  return event.Records[index]?.dynamodb?.Keys?.pk?.S ?? '';
}

async function startRunner(
  tableName: string,
  handler: StreamRunnerOptions['handler'],
  settings: Partial<StreamSettings>,
  extra: Partial<StreamRunnerOptions> = {},
): Promise<StreamRunner> {
  const runner = new StreamRunner({
    streamsClient: streams,
    dynamodbClient: dynamodb,
    tableName,
    handler,
    settings,
    functionName: 'streamSync',
    log: quiet,
    pollIntervalMs: 20,
    retryDelayMs: { base: 5, max: 20 },
    ...extra,
  });
  runners.push(runner);
  await runner.start();
  return runner;
}

async function readJsonLines(path: string): Promise<OnFailureRecord[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as OnFailureRecord);
}

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

  it('resumes after its checkpoint on restart: nothing already processed is delivered again', async () => {
    const { tableName } = await createStreamTable();
    const dir = await mkdtemp(join(tmpdir(), 'stream-runner-'));
    const checkpointFile = join(dir, 'checkpoints.json');
    await putItems(tableName, 0, 5);
    const first = recordingHandler();
    const runner = await startRunner(
      tableName,
      first.handler,
      { batchSize: 10 },
      { checkpoints: checkpointFile },
    );
    await runner.drain(20_000);
    await runner.stop();
    await putItems(tableName, 5, 3);

    const second = recordingHandler();
    const restarted = await startRunner(
      tableName,
      second.handler,
      { batchSize: 10 },
      { checkpoints: new FileCheckpointStore(checkpointFile) },
    );
    await restarted.drain(20_000);

    expect(first.calls.flatMap((c) => c.keys)).toEqual([
      'item-0000',
      'item-0001',
      'item-0002',
      'item-0003',
      'item-0004',
    ]);
    expect(second.calls.flatMap((c) => c.keys)).toEqual(['item-0005', 'item-0006', 'item-0007']);
  });

  it('uses the settings written in serverless.yml for streamSync: batches of 100, partial responses honoured', async () => {
    const path = join(__dirname, '../../serverless.yml');
    const settings = await loadStreamSettings(path, 'streamSync');
    const written = parse(await readFile(path, 'utf8'), { logLevel: 'silent' }).functions.streamSync;
    const stream = written.events.find((e: { stream?: unknown }) => e.stream !== undefined).stream;
    expect(settings).toEqual({
      batchSize: stream.batchSize,
      maximumBatchingWindow: stream.batchWindow ?? stream.maximumBatchingWindow,
      bisectBatchOnFunctionError: stream.bisectBatchOnFunctionError,
      maximumRetryAttempts: stream.maximumRetryAttempts,
      maximumRecordAgeInSeconds: stream.maximumRecordAgeInSeconds,
      functionResponseType: stream.functionResponseType,
      startingPosition: stream.startingPosition,
      onFailureDestination: '!GetAtt StreamDeadLetterQueue.Arn',
      functionTimeoutSeconds: written.timeout,
    });
    // The scenario below depends on these two.
    expect(settings.batchSize).toBe(100);
    expect(settings.functionResponseType).toBe('ReportBatchItemFailures');
    const tableName = `VectorEmbeddings-${randomUUID()}`;
    await dynamodb.send(new CreateTableCommand(createTableInput('VectorEmbeddings', tableName)));
    tables.push(tableName);
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
    const botId = `bot-${randomUUID()}`;
    for (let i = 0; i < 250; i++) {
      await dynamodb.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            bot_id: { S: botId },
            chunk_id: { S: `c${String(i).padStart(4, '0')}` },
            filename: { S: 'a.txt' },
          },
        }),
      );
    }
    let failedOnce = false;
    const { calls, handler } = recordingHandler((event) => {
      const last = event.Records[event.Records.length - 1]?.dynamodb?.SequenceNumber ?? '';
      if (!failedOnce && event.Records.length === 100) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: last }] };
      }
      return undefined;
    });
    const runner = await startRunner(tableName, handler, settings);
    await runner.drain(20_000);

    // 100 (its last record reported failed) -> split at it, that 1 retried alone -> 100 -> 50.
    expect(calls.map((c) => c.event.Records.length)).toEqual([100, 1, 100, 50]);
    const chunkIds = calls.flatMap((c) => c.event.Records.map((r) => r.dynamodb?.Keys?.chunk_id?.S));
    expect(new Set(chunkIds).size).toBe(250);
    expect(chunkIds[99]).toBe(chunkIds[100]);
  });

  it('delivers Binary attributes as base64 strings, also inside lists, maps and sets', async () => {
    const { tableName } = await createStreamTable();
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          pk: { S: 'bin' },
          vector: { B: new Uint8Array(new Float32Array([1, -2.5]).buffer) },
          set: { BS: [new Uint8Array([1, 2]), new Uint8Array([255])] },
          list: { L: [{ B: new Uint8Array([7]) }, { M: { nested: { B: new Uint8Array([8, 9]) } } }] },
        },
      }),
    );
    const { calls, handler } = recordingHandler();
    const runner = await startRunner(tableName, handler, {});
    await runner.drain(20_000);

    const image = calls[0]?.event.Records[0]?.dynamodb?.NewImage;
    expect(image?.vector).toEqual({ B: Buffer.from(new Float32Array([1, -2.5]).buffer).toString('base64') });
    expect(image?.set?.BS?.sort()).toEqual(['AQI=', '/w=='].sort());
    expect(image?.list).toEqual({ L: [{ B: 'Bw==' }, { M: { nested: { B: 'CAk=' } } }] });
    expect(DynamoDBStreamSchema.safeParse(calls[0]?.event).success).toBe(true);
  });

  it('starting at LATEST delivers only what is written after the start', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 3);
    const { calls, handler } = recordingHandler();
    const runner = await startRunner(tableName, handler, { startingPosition: 'LATEST' });
    await runner.drain(20_000);
    await putItems(tableName, 3, 2);
    await runner.drain(20_000);

    expect(calls.flatMap((c) => c.keys)).toEqual(['item-0003', 'item-0004']);
  });

  it('waits up to maximumBatchingWindow to fill a batch', async () => {
    const { tableName } = await createStreamTable();
    const { calls, handler } = recordingHandler();
    const runner = await startRunner(tableName, handler, { batchSize: 100, maximumBatchingWindow: 3 });
    await runner.drain(20_000);
    await putItems(tableName, 0, 5);
    await runner.drain(20_000);

    expect(calls.map((c) => c.keys)).toEqual([
      ['item-0000', 'item-0001', 'item-0002', 'item-0003', 'item-0004'],
    ]);
  });

  it('renews an expired shard iterator after the last record read, losing and repeating nothing', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 6);
    let getRecordsCalls = 0;
    const expiring = {
      send: (command: unknown) => {
        if (command instanceof GetRecordsCommand && ++getRecordsCalls % 2 === 0) {
          return Promise.reject(new ExpiredIteratorException({ message: 'Iterator expired', $metadata: {} }));
        }
        return streams.send(command as GetRecordsCommand);
      },
    } as unknown as DynamoDBStreamsClient;
    const { calls, handler } = recordingHandler();
    const runner = await startRunner(tableName, handler, { batchSize: 2 }, { streamsClient: expiring });
    await runner.drain(20_000);

    expect(getRecordsCalls).toBeGreaterThan(4);
    expect(calls.flatMap((c) => c.keys)).toEqual(Array.from({ length: 6 }, (_, i) => `item-000${i}`));
  });

  it('after a trimmed position, starts at the oldest record still there without repeating checkpointed ones', async () => {
    const { tableName } = await createStreamTable();
    const checkpoints = new MemoryCheckpointStore();
    await putItems(tableName, 0, 3);
    const first = recordingHandler();
    const runner = await startRunner(tableName, first.handler, {}, { checkpoints });
    await runner.drain(20_000);
    await runner.stop();
    await putItems(tableName, 3, 2);
    let trimmedOnce = false;
    const trimming = {
      send: (command: unknown) => {
        if (
          command instanceof GetShardIteratorCommand &&
          command.input.ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' &&
          !trimmedOnce
        ) {
          trimmedOnce = true;
          return Promise.reject(new TrimmedDataAccessException({ message: 'trimmed', $metadata: {} }));
        }
        return streams.send(command as GetShardIteratorCommand);
      },
    } as unknown as DynamoDBStreamsClient;
    const errors: string[] = [];
    const second = recordingHandler();
    const restarted = await startRunner(
      tableName,
      second.handler,
      {},
      { checkpoints, streamsClient: trimming, log: { ...quiet, error: (m: string) => void errors.push(m) } },
    );
    await restarted.drain(20_000);

    expect(trimmedOnce).toBe(true);
    expect(second.calls.flatMap((c) => c.keys)).toEqual(['item-0003', 'item-0004']);
    expect(errors).toEqual([expect.stringMatching(/were trimmed from the stream .* and are lost/)]);
  });

  it('stops gracefully: the invocation under way completes and is checkpointed, so a restart does not repeat it', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 4);
    const checkpoints = new MemoryCheckpointStore();
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => {};
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const slow = recordingHandler();
    const runner = await startRunner(
      tableName,
      async (event, context) => {
        await slow.handler(event, context);
        entered();
        await released;
      },
      { batchSize: 2 },
      { checkpoints },
    );
    await inside;
    const stopped = runner.stop();
    release();
    await stopped;
    const again = recordingHandler();
    const restarted = await startRunner(tableName, again.handler, { batchSize: 2 }, { checkpoints });
    await restarted.drain(20_000);

    expect(slow.calls.map((c) => c.keys)).toEqual([['item-0000', 'item-0001']]);
    expect(again.calls.flatMap((c) => c.keys)).toEqual(['item-0002', 'item-0003']);
  });

  it('started again after stop(), the same runner resumes where it stopped', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 2);
    const { calls, handler } = recordingHandler();
    const runner = await startRunner(tableName, handler, {});
    await runner.drain(20_000);
    await runner.stop();
    await putItems(tableName, 2, 2);
    await runner.start();
    await runner.drain(20_000);

    expect(calls.flatMap((c) => c.keys)).toEqual(['item-0000', 'item-0001', 'item-0002', 'item-0003']);
  });

  it('drain reports what is stuck when a batch keeps failing with unlimited retries', async () => {
    const { tableName } = await createStreamTable();
    await putItems(tableName, 0, 1);
    const { handler } = recordingHandler(() => {
      throw new Error('always');
    });
    const runner = await startRunner(tableName, handler, { batchSize: 10 });
    await expect(runner.drain(500)).rejects.toBeInstanceOf(DrainTimeoutError);
  });
});
