import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { JsonLinesDeadLetters, SqsDeadLetters } from '../adapters/dead-letters/sources';
import { DynamoCountsDoctorStore } from '../adapters/dynamodb/counts-doctor-store';
import { DynamoDocumentLeases } from '../adapters/dynamodb/document-leases';
import { DynamoStreamRangeReader } from '../adapters/dynamodb/stream-range-reader';
import { ConfigError } from '../errors';
import { withDeadline } from '../machinery/deadline';
import type { DeadLetterSource } from '../ports';
import type { SnapshotStore } from '../snapshot';
import { RedisSnapshotStore } from '../snapshot';
import { missingIndexes } from '../tables/definition';
import type { DoctorDeps } from '../use-cases/doctor';
import type { ReplayDeps } from '../use-cases/replay-dead-letters';
import type { StreamLog } from '../use-cases/sync-stream-batch';
import { botStatsOf, chunkStoreOf } from './adapters';
import type { BaseDeps } from './base';

export type DoctorWiring = {
  doctor: DoctorDeps;
  base: BaseDeps;
  /**
   * Why snapshots are not checked, when they are not: no REDIS_URL, Redis did not answer, or the memory
   * snapshot mode (no shared snapshot; what it does instead).
   */
  snapshotsSkipped: string | undefined;
  /** Replay dependencies for an on-failure source: a JSONL file path, or an SQS queue URL. */
  replay(source: { file: string } | { queueUrl: string }, log: StreamLog): ReplayDeps;
};

/** How long the doctor waits for Redis to answer before it checks counts only. */
const REDIS_PING_TIMEOUT_MS = 2000;

/** What the doctor says of snapshots in the memory snapshot mode, where none is shared. */
export const MEMORY_MODE_SNAPSHOTS =
  "SNAPSHOT_MODE=memory keeps no shared snapshot: each search container checks its copy against the bot's data_version on every search; --repair moves a repaired bot's data_version so every copy of it is read again";

/**
 * Builds the doctor's dependencies over `base` (the container's `baseDeps()` in the handler and the CLI; a
 * test's own). Checks that the three tables (and BotCollections' owner-index) exist first, so a wrong table
 * name is one clear error instead of a failure per bot.
 * Redis is optional: without it (or when it does not answer within 2 s) counts are still checked. In the
 * memory snapshot mode there is no shared snapshot to compare: counts are checked, and a repair makes the
 * search containers read the bot again (`reloadHeldCopies`).
 * @throws ConfigError naming a missing table or index
 */
export async function doctorDeps(base: BaseDeps, options: { settleMs?: number } = {}): Promise<DoctorWiring> {
  const { config, documents, dynamodb } = base;
  for (const table of [
    config.tables.vectorEmbeddings,
    config.tables.botCollections,
    config.tables.botDocuments,
  ]) {
    try {
      await dynamodb.send(new DescribeTableCommand({ TableName: table }));
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') {
        throw new ConfigError(
          `table ${table} does not exist at ${config.dynamodbEndpoint ?? `DynamoDB in ${config.region}`}: check TABLE_* and DYNAMODB_ENDPOINT (npm run dev creates the local tables)`,
        );
      }
      throw error;
    }
  }
  const missing = await missingIndexes(dynamodb, 'BotCollections', config.tables.botCollections);
  if (missing.length > 0) {
    throw new ConfigError(
      `table ${config.tables.botCollections} lacks the index ${missing.join(', ')} that GET /bots lists an owner's bots with: serverless deploy adds it (npm run dev adds it on start)`,
    );
  }
  let snapshotsSkipped: string | undefined;
  let snapshots: SnapshotStore | null = null;
  if (config.snapshotMode === 'memory') {
    snapshotsSkipped = MEMORY_MODE_SNAPSHOTS;
  } else if (base.redis === null) {
    snapshotsSkipped = 'REDIS_URL is unset';
  } else {
    const redis = base.redis;
    const answered = await withDeadline(
      redis.ping().then(
        () => true,
        () => false,
      ),
      REDIS_PING_TIMEOUT_MS,
      () => false,
    );
    if (answered) snapshots = new RedisSnapshotStore(redis, config.redisKeyPrefix);
    else snapshotsSkipped = `Redis at ${config.redisUrl?.replace(/\/\/[^@]*@/, '//***@')} did not answer`;
  }
  const store = new DynamoCountsDoctorStore(documents, {
    vectorEmbeddingsTable: config.tables.vectorEmbeddings,
    botCollectionsTable: config.tables.botCollections,
    botDocumentsTable: config.tables.botDocuments,
    defaultEmbeddingDimension: config.defaultEmbeddingDimension,
  });
  const chunks = chunkStoreOf(base);
  const doctor: DoctorDeps = {
    store,
    chunks,
    leases: new DynamoDocumentLeases(documents, config.tables.documentLeases),
    snapshots,
    reloadHeldCopies: config.snapshotMode === 'memory',
    ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }),
  };
  return {
    doctor,
    base,
    snapshotsSkipped,
    replay(source, log) {
      const streams = new DynamoDBStreamsClient({
        region: config.region,
        ...(config.dynamodbEndpoint === undefined
          ? {}
          : {
              endpoint: config.dynamodbEndpoint,
              credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
            }),
      });
      const letters: DeadLetterSource =
        'file' in source
          ? new JsonLinesDeadLetters(source.file)
          : new SqsDeadLetters(new SQSClient({ region: config.region }), source.queueUrl);
      return {
        source: letters,
        stream: new DynamoStreamRangeReader(streams, config.region),
        sync: {
          stats: botStatsOf(base),
          snapshots,
          log,
          defaultEmbeddingDimension: config.defaultEmbeddingDimension,
        },
        store,
        chunks,
        snapshots,
      };
    },
  };
}

/** Reports an unusable setting before anything runs. */
export function requireQueueUrl(value: string | undefined): string {
  if (value === undefined || !/^https:\/\/sqs\./.test(value)) {
    throw new ConfigError(
      'STREAM_DLQ_URL must be the dead-letter queue URL (https://sqs.<region>.amazonaws.com/...)',
    );
  }
  return value;
}
