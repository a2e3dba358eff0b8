import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../src/config';
import { lambdaContext } from '../fixtures/lambda-context';
import { chunkItem, StreamEventFactory, streamEvent } from '../fixtures/stream-events';
import { wireHandlers } from '../fixtures/wired-handlers';

describe('stream sync without REDIS_URL', () => {
  it('keeps counts only and says so once per container, not once per batch', async () => {
    const wired = wireHandlers(loadConfig({ ...process.env, REDIS_URL: undefined }));
    const { base, streamSync: handler } = wired;
    expect(base.redis).toBeNull();
    const warn = jest.spyOn(base.logger, 'warn');
    const botId = `bot-${randomUUID()}`;
    const events = new StreamEventFactory();

    const first = await handler(streamEvent([events.insert(chunkItem(botId, 'a.pdf', 0))]), lambdaContext());
    const second = await handler(streamEvent([events.insert(chunkItem(botId, 'b.pdf', 0))]), lambdaContext());

    expect([first.batchItemFailures, second.batchItemFailures]).toEqual([[], []]);
    const { Item } = await base.documents.send(
      new GetCommand({
        TableName: base.config.tables.botCollections,
        Key: { bot_id: botId },
        ConsistentRead: true,
      }),
    );
    expect(Item).toMatchObject({ total_chunks: 2, total_documents: 2 });
    expect(Item?.snapshot_epoch).toBeUndefined();
    const redisWarnings = warn.mock.calls.filter(([message]) => String(message).includes('REDIS_URL'));
    expect(redisWarnings).toHaveLength(1);
    wired.close();
  });
});
