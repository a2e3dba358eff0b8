import { BatchWriteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { StreamRunner } from '../../tools/local/stream-runner';
import { keyText, stableHash, VirtualShardedStream } from '../../tools/local/virtual-shards';
import {
  createStreamTable,
  dynamodb,
  quiet,
  streams,
  useStreamRunnerWorld,
} from '../fixtures/stream-runner-world';

jest.setTimeout(60_000);

useStreamRunnerWorld();

/** The real streams client, counting its TrimmedDataAccessException answers. */
function countingTrims(): { client: DynamoDBStreamsClient; trims: () => number } {
  let trims = 0;
  const client = {
    send: (command: Parameters<DynamoDBStreamsClient['send']>[0]) =>
      streams.send(command).catch((error: unknown) => {
        if ((error as { name?: string }).name === 'TrimmedDataAccessException') trims += 1;
        throw error;
      }),
  } as unknown as DynamoDBStreamsClient;
  return { client, trims: () => trims };
}

describe('virtual shards over a table whose stream is fresh', () => {
  it("delivers both shards' first records before the drain ends, though another table wrote in between", async () => {
    const { tableName: table } = await createStreamTable();
    const { tableName: other } = await createStreamTable();
    const source = countingTrims();
    const view = new VirtualShardedStream(source.client, {
      shards: 2,
      shardOf: (keys) => stableHash(keyText(keys)),
    });
    const delivered: DynamoDBRecord[] = [];
    const runner = new StreamRunner({
      streamsClient: view.asClient(),
      dynamodbClient: dynamodb,
      tableName: table,
      functionName: 'virtual-shards-fresh',
      settings: { batchSize: 100 },
      log: quiet,
      // Long naps: a shard answered "nothing new" by mistake does not look again before the drain ends.
      pollIntervalMs: 2000,
      shardRefreshIntervalMs: 60_000,
      handler: async (event) => {
        delivered.push(...event.Records);
      },
    });
    await runner.start();
    try {
      // The view now holds an iterator taken while the table's shard was empty.
      await runner.drain(20_000);
      // DynamoDB Local numbers records across its tables: this moves the table's first record past it.
      await dynamodb.send(new PutItemCommand({ TableName: other, Item: { pk: { S: 'elsewhere' } } }));
      const keys = Array.from({ length: 12 }, (_, i) => `item-${i}`);
      await dynamodb.send(
        new BatchWriteItemCommand({
          RequestItems: { [table]: keys.map((pk) => ({ PutRequest: { Item: { pk: { S: pk } } } })) },
        }),
      );
      await runner.drain(20_000);

      // Not vacuous: the source did answer the stale iterator as DynamoDB Local does.
      expect(source.trims()).toBeGreaterThan(0);
      expect(Object.values(view.shardSizes()).every((size) => size > 0)).toBe(true);
      expect(delivered.map((record) => record.dynamodb?.Keys?.pk?.S).sort()).toEqual([...keys].sort());
    } finally {
      await runner.stop();
    }
  });
});
