import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileCheckpointStore, MemoryCheckpointStore } from '../../tools/local/checkpoint-store';
import { createLambdaContext } from '../../tools/local/lambda-context';
import { buildOnFailureRecord, JsonLinesFailureFile } from '../../tools/local/on-failure-destination';

const streamArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2026-01-01T00:00:00.000';

describe('on-failure record', () => {
  const input = {
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:streamSync',
    condition: 'RetryAttemptsExhausted' as const,
    invocations: 6,
    functionError: true,
    shardId: 'shardId-1',
    streamArn,
    first: { sequenceNumber: '100', approximateCreationTime: Date.parse('2026-01-01T10:00:04.500Z') },
    last: { sequenceNumber: '300', approximateCreationTime: Date.parse('2026-01-01T10:00:05Z') },
    batchSize: 3,
    now: new Date('2026-01-01T10:01:00Z'),
  };

  it("has the shape of Lambda's on-failure destination message", () => {
    const record = buildOnFailureRecord(input);
    expect(record).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: input.functionArn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 6,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '2026-01-01T10:01:00.000Z',
      DDBStreamBatchInfo: {
        shardId: 'shardId-1',
        startSequenceNumber: '100',
        endSequenceNumber: '300',
        approximateArrivalOfFirstRecord: '2026-01-01T10:00:04Z',
        approximateArrivalOfLastRecord: '2026-01-01T10:00:05Z',
        batchSize: 3,
        streamArn,
      },
    });
  });

  it('has no function error when the handler returned failures instead of throwing', () => {
    expect(buildOnFailureRecord({ ...input, functionError: false }).responseContext).not.toHaveProperty(
      'functionError',
    );
  });

  it('appends one JSON line per record, creating the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'on-failure-'));
    const file = new JsonLinesFailureFile(join(dir, 'nested', 'failures.jsonl'));
    await file.append(buildOnFailureRecord(input));
    await file.append(buildOnFailureRecord({ ...input, condition: 'RecordAgeExceeded' }));
    const lines = (await readFile(file.path, 'utf8')).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).requestContext.condition)).toEqual([
      'RetryAttemptsExhausted',
      'RecordAgeExceeded',
    ]);
  });
});

describe('checkpoint stores', () => {
  it('keep one position per shard and mapping, across store instances for the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'checkpoints-'));
    const path = join(dir, 'cp.json');
    const store = new FileCheckpointStore(path);
    await Promise.all([
      store.save('fn|arn-1', 'shard-a', { sequenceNumber: '10' }),
      store.save('fn|arn-1', 'shard-b', { sequenceNumber: '20', finished: true }),
      store.save('fn|arn-2', 'shard-a', { sequenceNumber: '5' }),
    ]);
    await store.save('fn|arn-1', 'shard-a', { sequenceNumber: '11' });

    const reopened = new FileCheckpointStore(path);
    expect(await reopened.load('fn|arn-1')).toEqual({
      'shard-a': { sequenceNumber: '11' },
      'shard-b': { sequenceNumber: '20', finished: true },
    });
    expect(await reopened.load('fn|arn-2')).toEqual({ 'shard-a': { sequenceNumber: '5' } });
    expect(await reopened.load('other|arn')).toEqual({});
  });

  it('start empty when the file does not exist, and refuse a corrupt file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'checkpoints-'));
    expect(await new FileCheckpointStore(join(dir, 'none.json')).load('m')).toEqual({});
    const corrupt = join(dir, 'corrupt.json');
    await writeFile(corrupt, '{not json');
    await expect(new FileCheckpointStore(corrupt).load('m')).rejects.toThrow(
      /checkpoint file .*corrupt\.json/,
    );
  });

  it('in memory, hand out copies', async () => {
    const store = new MemoryCheckpointStore();
    await store.save('m', 's', { sequenceNumber: '1' });
    const loaded = await store.load('m');
    (loaded.s as { sequenceNumber: string }).sequenceNumber = '999';
    expect(await store.load('m')).toEqual({ s: { sequenceNumber: '1' } });
  });
});

describe('local Lambda context', () => {
  it('names the function and counts down from its timeout', () => {
    const context = createLambdaContext({
      functionName: 'streamSync',
      region: 'eu-west-1',
      timeoutSeconds: 60,
    });
    expect(context.invokedFunctionArn).toBe('arn:aws:lambda:eu-west-1:000000000000:function:streamSync');
    expect(context.functionVersion).toBe('$LATEST');
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(59_000);
    expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(60_000);
    expect(createLambdaContext({ functionName: 'f', region: 'r', timeoutSeconds: 1 }).awsRequestId).not.toBe(
      context.awsRequestId,
    );
  });
});
