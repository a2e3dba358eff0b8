import type { DynamoDBRecord } from 'aws-lambda';
import { SNAPSHOT_MODES } from '../fixtures/snapshot-modes';
import { type ChunkItem, StreamEventFactory } from '../fixtures/stream-events';
import { chunks, newBot, useStreamSyncWorld } from '../fixtures/stream-sync-world';

/** A TTL deletion as DynamoDB Streams delivers it: a REMOVE whose userIdentity is the DynamoDB service. */
function ttlRemoval(events: StreamEventFactory, item: ChunkItem): DynamoDBRecord {
  return {
    ...events.remove(item),
    userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
  };
}

describe.each(SNAPSHOT_MODES)('stream sync of TTL removals (%s snapshots)', (mode) => {
  const { catalog, counts, deliver } = useStreamSyncWorld(mode);

  it('counts DynamoDB TTL removals like any removal, once however often they are delivered', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const expiring = chunks(bot, 'memory.md', 3).map((item) => ({ ...item, expires_at: expiresAt }));
    const kept = chunks(bot, 'kept.md', 2);
    expect(await deliver([...expiring, ...kept].map((item) => events.insert(item)))).toEqual([]);
    const listed = await catalog.list(bot);
    expect(listed.documents.map((doc) => [doc.filename, doc.expires_at])).toEqual([
      ['kept.md', undefined],
      ['memory.md', expiresAt],
    ]);

    const removals = expiring.map((item) => ttlRemoval(events, item));
    expect(await deliver(removals.slice(0, 2))).toEqual([]);
    expect(await deliver(removals)).toEqual([]);
    expect(await deliver(removals)).toEqual([]);

    expect(await counts(bot)).toEqual({ total_chunks: 2, total_documents: 1, documents: { 'kept.md': 2 } });
  });
});
