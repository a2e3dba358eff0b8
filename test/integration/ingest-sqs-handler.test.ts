import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import type { DirectIngestSummary } from '../../handlers/sqs-ingest';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import type { UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { lambdaContext } from '../fixtures/lambda-context';
import { sqsEvent } from '../fixtures/sqs-events';
import { wireHandlers } from '../fixtures/wired-handlers';

const config = loadConfig({ ...process.env, DEFAULT_EMBEDDING_DIMENSION: '8', EMBEDDING_ENCODING: 'binary' });
/** handlers/sqs-ingest.ts's handler, built from its factory over this config (silent logger and metrics). */
const wired = wireHandlers(config);
const handler = wired.ingest;
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);

afterAll(async () => {
  dynamodb.destroy();
  wired.close();
});

function upsert(botId: string, filename: string, chunkCount: number, dimension = 8): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: botId,
    filename,
    file_size: 100,
    chunks: Array.from({ length: chunkCount }, (_, i) => ({
      chunk_index: i,
      text: `${filename} chunk ${i}`,
      embedding: Array.from({ length: dimension }, (_, d) => i + d / 10),
    })),
  };
}

async function storedFilenames(botId: string): Promise<string[]> {
  const { Items } = await documents.send(
    new QueryCommand({
      TableName: config.tables.vectorEmbeddings,
      KeyConditionExpression: 'bot_id = :b',
      ExpressionAttributeValues: { ':b': botId },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []).map((item) => String(item.filename)).sort();
}

describe('the ingestion handler', () => {
  describe('from SQS', () => {
    it('fails only the bad record of a batch and applies the good one', async () => {
      const botId = `bot-${randomUUID()}`;
      const event = sqsEvent([upsert(botId, 'good.pdf', 2), upsert(botId, 'bad.pdf', 2, 7)]);

      const response = (await handler(event, lambdaContext())) as SQSBatchResponse;

      expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[1]?.messageId }]);
      expect(await storedFilenames(botId)).toEqual(['good.pdf', 'good.pdf']);
    });

    it('fails a record whose body is not JSON, or not a known message, without touching the rest', async () => {
      const botId = `bot-${randomUUID()}`;
      const event = sqsEvent(['{"type":', { type: 'rename_bot', bot_id: botId }, upsert(botId, 'ok.pdf', 1)]);

      const response = (await handler(event, lambdaContext())) as SQSBatchResponse;

      expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
        event.Records[0]?.messageId,
        event.Records[1]?.messageId,
      ]);
      expect(await storedFilenames(botId)).toEqual(['ok.pdf']);
    });

    it('applies the records of a batch in order: an upsert, then a delete of the same document', async () => {
      const botId = `bot-${randomUUID()}`;
      const event = sqsEvent([
        upsert(botId, 'a.pdf', 3),
        upsert(botId, 'b.pdf', 1),
        { type: 'delete_document', bot_id: botId, filename: 'a.pdf' },
      ]);

      const response = (await handler(event, lambdaContext())) as SQSBatchResponse;

      expect(response.batchItemFailures).toEqual([]);
      expect(await storedFilenames(botId)).toEqual(['b.pdf']);
    });

    it('deletes a whole bot on delete_bot', async () => {
      const botId = `bot-${randomUUID()}`;
      await handler(sqsEvent([upsert(botId, 'a.pdf', 3), upsert(botId, 'b.pdf', 2)]), lambdaContext());

      const response = (await handler(
        sqsEvent([{ type: 'delete_bot', bot_id: botId }]),
        lambdaContext(),
      )) as SQSBatchResponse;

      expect(response.batchItemFailures).toEqual([]);
      expect(await storedFilenames(botId)).toEqual([]);
    });
  });

  describe('invoked directly', () => {
    it('applies one message and answers with what it did', async () => {
      const botId = `bot-${randomUUID()}`;

      const summary = (await handler(
        { ...upsert(botId, 'a.pdf', 3) },
        lambdaContext(),
      )) as DirectIngestSummary;

      expect(summary).toMatchObject({ processed: 1, failed: 0 });
      expect(summary.results[0]).toMatchObject({
        index: 0,
        ok: true,
        result: { type: 'upsert_document', bot_id: botId, written: 3, deleted: 0 },
      });
      expect(await storedFilenames(botId)).toEqual(['a.pdf', 'a.pdf', 'a.pdf']);
    });

    it('applies a list of messages, reporting the bad one by index and field', async () => {
      const botId = `bot-${randomUUID()}`;
      const bad = upsert(botId, 'bad.pdf', 2);
      bad.chunks[1] = { ...bad.chunks[1], text: '' } as UpsertDocumentMessage['chunks'][number];

      const summary = (await handler(
        {
          messages: [
            upsert(botId, 'a.pdf', 1),
            bad,
            { type: 'delete_document', bot_id: botId, filename: 'zzz' },
          ],
        },
        lambdaContext(),
      )) as DirectIngestSummary;

      expect(summary).toMatchObject({ processed: 3, failed: 1 });
      expect(summary.results[1]).toEqual({
        index: 1,
        ok: false,
        error: {
          name: 'ValidationError',
          message: 'chunks[1].text must not be empty',
          field: 'chunks[1].text',
        },
      });
      expect(summary.results[2]).toMatchObject({ ok: true, result: { type: 'delete_document', deleted: 0 } });
      expect(await storedFilenames(botId)).toEqual(['a.pdf']);
    });

    it('reports an event that is no message at all instead of crashing', async () => {
      const summary = (await handler({ hello: 'world' }, lambdaContext())) as DirectIngestSummary;

      expect(summary).toMatchObject({ processed: 1, failed: 1 });
      expect(summary.results[0]).toMatchObject({
        ok: false,
        error: { name: 'ValidationError', field: 'type' },
      });
    });

    it.each([null, 0, 'text', []])(
      'reports a payload of %j as a bad message instead of crashing',
      async (payload) => {
        const summary = (await handler(payload as never, lambdaContext())) as DirectIngestSummary;

        expect(summary).toMatchObject({ processed: 1, failed: 1 });
        expect(summary.results[0]).toMatchObject({
          ok: false,
          error: { name: 'ValidationError', field: 'type' },
        });
      },
    );

    it('names the field, not InternalError, for sizes and numbers DynamoDB would refuse', async () => {
      const botId = `bot-${randomUUID()}`;
      const bad = upsert(botId, 'a.pdf', 2);
      bad.chunks[1] = {
        ...bad.chunks[1],
        metadata: { big: 2 ** 60 },
      } as UpsertDocumentMessage['chunks'][number];

      const summary = (await handler(
        { messages: [bad, { ...upsert(botId, 'é'.repeat(513), 1) }] },
        lambdaContext(),
      )) as DirectIngestSummary;

      expect(summary.results.map((r) => (r.ok ? 'ok' : `${r.error.name} ${r.error.field}`))).toEqual([
        'ValidationError chunks[1].metadata.big',
        'ValidationError filename',
      ]);
      expect(await storedFilenames(botId)).toEqual([]);
    });
  });
});
