import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import Redis from 'ioredis';
import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { ensureTables } from '../../src/tables/definition';
import { startRedisServer } from '../../tools/local/stack';

describe('embedded local stack', () => {
  const config = loadConfig(process.env);
  const dynamodb = createDynamoDbClient(config);
  afterAll(() => dynamodb.destroy());

  it('created VectorEmbeddings with its stream and the filename-index GSI', async () => {
    const { Table } = await dynamodb.send(
      new DescribeTableCommand({ TableName: config.tables.vectorEmbeddings }),
    );
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(Table?.LatestStreamArn).toMatch(/^arn:aws:dynamodb:/);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['filename-index']);
  });

  it('creating the tables again is a no-op that reports them as existing', async () => {
    const result = await ensureTables(dynamodb, config.tables);
    expect(result.created).toEqual([]);
    expect(result.existing).toEqual(
      expect.arrayContaining([config.tables.vectorEmbeddings, config.tables.botCollections]),
    );
  });

  it('restarts a private redis-server on the same port with its data gone', async () => {
    const first = await startRedisServer();
    const client = new Redis(first.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    await client.set('k', 'v');
    await first.stop();
    const second = await startRedisServer({ port: first.port });
    try {
      expect(second.url).toBe(first.url);
      expect(await client.get('k')).toBeNull();
    } finally {
      client.disconnect();
      await second.stop();
    }
  });
});
