import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { foreignRecordReason } from '../src/contracts/stream-record-origin';
import { syncStreamBatch } from '../src/use-cases/sync-stream-batch';
import { type StreamDeps, streamDeps } from '../src/wiring/stream';

/**
 * VectorEmbeddings stream -> BotCollections / BotDocuments counts and Redis snapshots. Lambda's event
 * source mapping uses ReportBatchItemFailures: the records named in `batchItemFailures` (and everything
 * after the lowest of them) are retried; the rest of the batch has taken effect exactly once. A record
 * that is not a change of VectorEmbeddings (another event source, another table's stream) is skipped with
 * a log line and the StreamRecordsSkipped metric, never reported: a retry could never apply it.
 */
export const makeStreamSyncHandler =
  (wiring: () => StreamDeps) =>
  async (event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> => {
    const { sync, logger, metrics, streamTable } = wiring();
    logger.addContext(context);
    if (!Array.isArray(event?.Records)) {
      // Not a stream event at all: fail the invocation so it is visible rather than silently "succeed".
      throw new TypeError('stream-sync expects a DynamoDB stream event with a Records array');
    }
    try {
      const records = event.Records.filter((record) => {
        const reason = foreignRecordReason(record, streamTable);
        if (reason === undefined) return true;
        logger.warn('Stream record skipped: not a change of VectorEmbeddings', {
          eventID: record?.eventID,
          eventSourceARN: record?.eventSourceARN,
          reason,
        });
        return false;
      });
      const report = await syncStreamBatch(sync, records);
      const skipped = event.Records.length - records.length + report.skipped;
      metrics.addMetric('StreamRecordsReceived', MetricUnit.Count, event.Records.length);
      metrics.addMetric('StreamRecordsCounted', MetricUnit.Count, report.counted);
      metrics.addMetric('StreamDuplicatesSkipped', MetricUnit.Count, report.duplicates);
      metrics.addMetric('StreamRecordsFailed', MetricUnit.Count, report.failures.length);
      metrics.addMetric('StreamRecordsSkipped', MetricUnit.Count, skipped);
      metrics.addMetric('SnapshotUnusableChunks', MetricUnit.Count, report.unusable);
      metrics.addMetric('SnapshotStaleMarks', MetricUnit.Count, report.staleMarks);
      metrics.addMetric('SnapshotsStarted', MetricUnit.Count, report.snapshotsStarted);
      if (report.failures.length > 0) {
        logger.warn('Stream batch partially failed', {
          records: event.Records.length,
          failures: report.failures.length,
          failedBots: report.failedBots,
        });
      }
      return { batchItemFailures: report.failures.map((itemIdentifier) => ({ itemIdentifier })) };
    } finally {
      metrics.publishStoredMetrics();
    }
  };

export const handler = makeStreamSyncHandler(streamDeps);
