import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseIngestionMessage, parseIngestionMessageJson } from '../src/contracts/ingestion-messages';
import { ConflictError, NotFoundError, ValidationError, WriteIncompleteError } from '../src/errors';
import type { IngestResult } from '../src/use-cases/ingest-message';
import { type IngestHandlerDeps, ingestDeps } from '../src/wiring/ingest';

/** What a direct invocation returns: one entry per message, in order. */
export type DirectIngestSummary = {
  processed: number;
  failed: number;
  results: Array<
    | { index: number; ok: true; result: IngestResult }
    | { index: number; ok: false; error: { name: string; message: string; field?: string } }
  >;
};

/** A direct invocation: one message, or `{ messages: [...] }`. */
export type DirectIngestEvent = { messages: unknown[] } | Record<string, unknown> | null;

/**
 * Upstream ingestion. From SQS (event source mapping with ReportBatchItemFailures): each record's body is
 * one message; a record that fails (bad message, or DynamoDB refusing writes) is named in
 * `batchItemFailures` and retried by SQS (then dead-lettered) without touching the others. Records of one
 * batch are applied in order, so a delete after an upsert of the same document stays after it. Invoked
 * directly (Lambda Invoke, tools): one message or `{ messages: [...] }`, answered with a summary.
 */
export const makeIngestHandler = (wiring: () => IngestHandlerDeps) => {
  // Per handler: the processor keeps one batch's state while it runs.
  const processor = new BatchProcessor(EventType.SQS);
  return async (
    event: SQSEvent | DirectIngestEvent,
    context: Context,
  ): Promise<SQSBatchResponse | DirectIngestSummary> => {
    const { logger, metrics, ingest } = wiring();
    logger.addContext(context);
    try {
      if (isSqsEvent(event)) {
        const recordHandler = async (record: SQSRecord) => {
          try {
            const result = await ingest(parseIngestionMessageJson(record.body));
            metrics.addMetric('IngestMessagesApplied', MetricUnit.Count, 1);
            return result;
          } catch (error) {
            metrics.addMetric('IngestMessagesFailed', MetricUnit.Count, 1);
            logger.error('Ingestion message failed', { messageId: record.messageId, error: error as Error });
            throw error;
          }
        };
        return await processPartialResponse(event, recordHandler, processor, {
          context,
          processInParallel: false,
        });
      }
      // A null or non-object payload is one bad message (answered in the summary), never a crash.
      const batch = typeof event === 'object' && event !== null ? (event as { messages?: unknown }) : {};
      const messages = Array.isArray(batch.messages) ? (batch.messages as unknown[]) : [event as unknown];
      const summary: DirectIngestSummary = { processed: 0, failed: 0, results: [] };
      for (const [index, value] of messages.entries()) {
        summary.processed++;
        try {
          summary.results.push({ index, ok: true, result: await ingest(parseIngestionMessage(value)) });
        } catch (error) {
          summary.failed++;
          logger.error('Ingestion message failed', { index, error: error as Error });
          summary.results.push({ index, ok: false, error: describe(error) });
        }
      }
      metrics.addMetric('IngestMessagesApplied', MetricUnit.Count, summary.processed - summary.failed);
      metrics.addMetric('IngestMessagesFailed', MetricUnit.Count, summary.failed);
      return summary;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
};

export const handler = makeIngestHandler(ingestDeps);

function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown })?.Records;
  return Array.isArray(records) && records.every((r) => (r as SQSRecord)?.eventSource === 'aws:sqs');
}

/** Errors the caller can act on keep their message; anything else stays generic (details are logged). */
function describe(error: unknown): { name: string; message: string; field?: string } {
  if (error instanceof ValidationError)
    return { name: error.name, message: error.message, field: error.field };
  if (
    error instanceof ConflictError ||
    error instanceof NotFoundError ||
    error instanceof WriteIncompleteError
  ) {
    return { name: error.name, message: error.message };
  }
  return { name: 'InternalError', message: 'internal error; see the function logs' };
}
