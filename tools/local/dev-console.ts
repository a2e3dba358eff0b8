import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamHandler } from './stream-runner';

/**
 * The stream handler as the dev stack runs it: the same handler, plus one compact human line per batch
 * (records, time, failures) where Lambda would have CloudWatch's EMF metrics (the dev stack gives the
 * in-process handler metrics that print nothing, and serverless-offline POWERTOOLS_METRICS_DISABLED).
 */
export function withBatchLines(handler: StreamHandler, line: (text: string) => void): StreamHandler {
  return async (event: DynamoDBStreamEvent, context: Context) => {
    const started = performance.now();
    const records = event.Records.length;
    try {
      const response = await handler(event, context);
      const failed = response ? response.batchItemFailures.length : 0;
      const ms = (performance.now() - started).toFixed(0);
      line(
        `batch of ${records} record(s) in ${ms} ms: ${failed === 0 ? 'all applied' : `${failed} reported failed, retried from the first`}`,
      );
      return response;
    } catch (error) {
      line(
        `batch of ${records} record(s) threw ${error instanceof Error ? error.message : String(error)}; retried`,
      );
      throw error;
    }
  };
}
