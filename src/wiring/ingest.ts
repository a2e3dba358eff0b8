import type { Logger } from '@aws-lambda-powertools/logger';
import type { IngestionMessage } from '../contracts/ingestion-messages';
import { type IngestResult, ingestMessage } from '../use-cases/ingest-message';
import { type DynamoBaseDeps, dynamoBaseDeps, type MetricsSink, once } from './dynamo-base';
import { createWriteDeps } from './write-path';

/** What handlers/sqs-ingest.ts uses. */
export type IngestHandlerDeps = {
  logger: Logger;
  metrics: MetricsSink;
  /** Applies one parsed message (see `ingestMessage`). */
  ingest: (message: IngestionMessage) => Promise<IngestResult>;
};

/** The ingestion handler's dependencies over `base` (the write path needs no Redis). */
export function createIngestDeps(base: DynamoBaseDeps): IngestHandlerDeps {
  const write = createWriteDeps(base);
  return {
    logger: base.logger,
    metrics: base.metrics,
    ingest: (message) => ingestMessage(write.ingest, message),
  };
}

/** The container's, built once from the environment. */
export const ingestDeps = once(() => createIngestDeps(dynamoBaseDeps()));
