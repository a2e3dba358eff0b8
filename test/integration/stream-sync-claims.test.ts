import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { itemSize } from '../../tools/bench/item-size';
import { SNAPSHOT_MODES } from '../fixtures/snapshot-modes';
import { chunkItem, StreamEventFactory } from '../fixtures/stream-events';
import { chunks, newBot, useStreamSyncWorld } from '../fixtures/stream-sync-world';

/** The record as created at another second (so counted under another claim item). */
const at = (record: DynamoDBRecord, second: number): DynamoDBRecord => ({
  ...record,
  dynamodb: { ...record.dynamodb, ApproximateCreationDateTime: second },
});

describe.each(SNAPSHOT_MODES)('stream claims (%s snapshots)', (mode) => {
  const { config, counts, deliver, documents } = useStreamSyncWorld(mode);

  /**
   * The bot's claim items in StreamClaims (a Scan: the table is keyed by claim item only), without the
   * change log items the memory mode keeps in the same table (`${botId}#v<version>`).
   */
  async function claimItems(botId: string): Promise<Record<string, unknown>[]> {
    const found: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(
        new ScanCommand({
          TableName: config.tables.streamClaims,
          ConsistentRead: true,
          FilterExpression: 'begins_with(claim_id, :bot) AND NOT begins_with(claim_id, :log)',
          ExpressionAttributeValues: { ':bot': `${botId}#`, ':log': `${botId}#v` },
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  it('claims 100 records created within one second in one item under 1 KB (1 write unit)', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();

    expect(await deliver(chunks(bot, 'big.pdf', 100).map((c) => events.insert(c)))).toEqual([]);

    const items = await claimItems(bot);
    expect(items).toHaveLength(1);
    const item = items[0] as Record<string, unknown>;
    expect(item.claim_id).toBe(`${bot}#s1767225600`);
    expect((item.ids as Set<Uint8Array>).size).toBe(100);
    expect(itemSize(item)).toBeLessThanOrEqual(1024);
  });

  it('counts every record once when redeliveries split a batch across its claim items differently', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    // Six records over three seconds, two documents.
    const batch = chunks(bot, 'a.pdf', 3)
      .concat(chunks(bot, 'b.pdf', 3))
      .map((c, i) => at(events.insert(c), 1_767_225_600 + Math.floor(i / 2)));
    const later = chunks(bot, 'b.pdf', 2, 3).map((c) => at(events.insert(c), 1_767_225_602));

    expect(await deliver(batch)).toEqual([]);
    // Bisected halves, a retry from the fourth record that reaches two new ones of the last second, and
    // the whole batch again.
    expect(await deliver(batch.slice(0, 3))).toEqual([]);
    expect(await deliver(batch.slice(3))).toEqual([]);
    expect(await deliver([...batch.slice(3), ...later])).toEqual([]);
    expect(await deliver(batch)).toEqual([]);

    expect(await counts(bot)).toEqual({
      total_chunks: 8,
      total_documents: 2,
      documents: { 'a.pdf': 3, 'b.pdf': 5 },
    });
    const items = await claimItems(bot);
    expect(items.map((item) => [item.claim_id, (item.ids as Set<Uint8Array>).size]).sort()).toEqual([
      [`${bot}#s1767225600`, 2],
      [`${bot}#s1767225601`, 2],
      [`${bot}#s1767225602`, 4],
    ]);
  });

  it('claims a record that carries no creation time in an item of its own', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const record = events.insert(chunkItem(bot, 'a.pdf', 0));
    const timeless = { ...record, dynamodb: { ...record.dynamodb, ApproximateCreationDateTime: undefined } };

    expect(await deliver([timeless])).toEqual([]);
    expect(await deliver([timeless])).toEqual([]);

    expect((await counts(bot)).total_chunks).toBe(1);
    expect((await claimItems(bot)).map((item) => item.claim_id)).toEqual([`${bot}#e${record.eventID}`]);
  });
});
