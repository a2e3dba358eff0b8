import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { StoredChunk } from '../../../src/domain/types';
import { createRedisClient } from '../../../src/redis-client';
import { RedisSnapshotStore } from '../../../src/snapshot';
import { createWriteDeps } from '../../../src/wiring/write-path';
import { createLambdaContext } from '../../local/lambda-context';
import { bufferRecord, buildEvent } from '../../local/stream-event';
import { type BenchContext, CREATED_AT } from '../context';
import { storedChunk } from '../data';
import { redisInputBytes } from '../instrument';
import { itemSize, writeUnits } from '../item-size';
import { itemOf } from '../load';

const CHUNKS = 100;
/** Apart from the other suites' sequence numbers (21 digits). */
let nextSequence = 5n * 10n ** 20n;

/** The MODIFY records DynamoDB Streams would carry for these metadata changes, as Lambda delivers them. */
function modifyEvent(pairs: Array<[StoredChunk, StoredChunk]>, streamArn: string): DynamoDBStreamEvent {
  const records = pairs.map(([before, after]) => {
    nextSequence += 1n;
    const record: SdkStreamRecord = {
      eventID: `bench-patch-${nextSequence}`,
      eventName: 'MODIFY',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: new Date(),
        Keys: marshall({ bot_id: after.bot_id, chunk_id: after.chunk_id }),
        OldImage: marshall(itemOf(before, 'binary')) as NonNullable<SdkStreamRecord['dynamodb']>['OldImage'],
        NewImage: marshall(itemOf(after, 'binary')) as NonNullable<SdkStreamRecord['dynamodb']>['NewImage'],
        SequenceNumber: nextSequence.toString(),
        SizeBytes: 4_600,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    return bufferRecord(record, streamArn, 'us-east-1');
  });
  return buildEvent(records) as DynamoDBStreamEvent;
}

/**
 * What `PATCH /bots/{botId}/documents` costs for a document of 100 chunks (packed Binary) whose bot has a
 * snapshot: the client's UpdateItems (write units by the rules: an update is charged on the larger of the
 * old and new item, the whole item, although only the metadata is sent) and its time per chunk; then the
 * stream handler's batch of the 100 MODIFY records it causes (row changes: no vector decoded or written),
 * its time and the bytes it sent to Redis.
 */
export async function patchCost(context: BenchContext): Promise<void> {
  const { env } = context;
  const write = createWriteDeps({ config: env.config, documents: env.documents });
  const redis = createRedisClient(env.stack.redis.url);
  const store = new RedisSnapshotStore(redis, env.config.redisKeyPrefix);
  try {
    const botId = `bench-patch-${Date.now()}`;
    const filename = 'patched.pdf';
    const source = context.dataset(CHUNKS);
    const chunks = Array.from({ length: CHUNKS }, (_, row) => ({
      ...storedChunk(source, botId, row, CREATED_AT),
      filename,
      chunk_index: row,
    }));
    await write.bots.ensure(botId, {});
    await write.chunks.put(chunks);
    const ticket = await store.beginRebuild(botId, 0);
    if (ticket === null || !(await store.commitRebuild(ticket, chunks, async () => chunks))) {
      throw new Error(`could not publish the snapshot of ${botId}`);
    }

    const metadata = { reviewed: true, tags: ['bench', 'patch'] };
    const started = performance.now();
    const result = await write.patchDocumentMetadata({ bot_id: botId, filename, metadata, mode: 'merge' });
    const patchMs = performance.now() - started;
    if (result.chunks_updated !== CHUNKS)
      throw new Error(`the patch updated ${result.chunks_updated} chunks`);
    const after = chunks.map((chunk) => ({ ...chunk, metadata: { ...chunk.metadata, ...metadata } }));
    let units = 0;
    let bytes = 0;
    for (const [i, chunk] of after.entries()) {
      const size = Math.max(
        itemSize(itemOf(chunks[i] as StoredChunk, 'binary')),
        itemSize(itemOf(chunk, 'binary')),
      );
      bytes += size;
      units += writeUnits(size);
    }

    const table = await env.dynamodb.send(
      new DescribeTableCommand({ TableName: env.config.tables.vectorEmbeddings }),
    );
    const event = modifyEvent(
      chunks.map((chunk, i) => [chunk, after[i] as StoredChunk]),
      table.Table?.LatestStreamArn ?? 'unknown',
    );
    const bytesBefore = await redisInputBytes(redis);
    const streamStarted = performance.now();
    const response = await env.streamSync(
      event,
      createLambdaContext({ functionName: 'streamSync', region: 'us-east-1', timeoutSeconds: 60 }),
    );
    const streamMs = performance.now() - streamStarted;
    const redisBytes = (await redisInputBytes(redis)) - bytesBefore;
    if (response.batchItemFailures.length > 0) throw new Error('the stream handler failed records');
    const snapshot = await store.read(botId);
    const patched = snapshot?.rows.filter((row) => row.metadata.reviewed === true).length ?? 0;
    if (patched !== CHUNKS) throw new Error(`the snapshot holds ${patched} patched rows, not ${CHUNKS}`);
    context.results.metadataPatch?.push({
      chunks: CHUNKS,
      itemBytes: bytes / CHUNKS,
      writeUnitsPerChunk: units / CHUNKS,
      patchMsPerChunk: patchMs / CHUNKS,
      streamMsPerRecord: streamMs / CHUNKS,
      redisBytesPerRecord: redisBytes / CHUNKS,
    });
    context.progress.note(
      `metadata patch: ${(units / CHUNKS).toFixed(2)} WCU and ${(patchMs / CHUNKS).toFixed(2)} ms per chunk`,
    );
  } finally {
    redis.disconnect();
  }
}
