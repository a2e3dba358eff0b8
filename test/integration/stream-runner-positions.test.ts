import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import { CreateTableCommand, PutItemCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { parse } from 'yaml';
import { DrainTimeoutError } from '../../src/errors';
import { createTableInput } from '../../src/tables/definition';
import {
  FileCheckpointStore,
  loadStreamSettings,
  MemoryCheckpointStore,
} from '../../tools/local/stream-runner';
import {
  createStreamTable,
  dynamodb,
  putItems,
  quiet,
  recordingHandler,
  startRunner,
  streams,
  tables,
  useStreamRunnerWorld,
} from '../fixtures/stream-runner-world';

/** The local stream runner's positions and lifecycle: checkpoints, settings from serverless.yml, LATEST, iterators, stop. */
jest.setTimeout(60_000);

useStreamRunnerWorld();

describe('local stream runner: positions, settings and lifecycle', () => {
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
