import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { IngestionMessage } from '../domain/ingestion-messages';
import { type IngestResult, ingestMessage } from '../use-cases/ingest-message';
import { baseDeps } from './base';
import { writeDeps } from './write-path';

/** What handlers/sqs-ingest.ts uses; built once per container. */
export type IngestHandlerDeps = {
  logger: Logger;
  metrics: Metrics;
  /** Applies one parsed message (see `ingestMessage`). */
  ingest: (message: IngestionMessage) => Promise<IngestResult>;
};

let deps: IngestHandlerDeps | undefined;

export function ingestDeps(): IngestHandlerDeps {
  if (deps === undefined) {
    const write = writeDeps();
    const { logger, metrics } = baseDeps();
    deps = { logger, metrics, ingest: (message) => ingestMessage(write.ingest, message) };
  }
  return deps;
}
