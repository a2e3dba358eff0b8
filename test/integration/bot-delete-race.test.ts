import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { alice, call, chunk, DIM, ingest, runner, suffix, useHttpWorld } from '../fixtures/http-world';
import { lambdaContext } from '../fixtures/lambda-context';
import { sqsEvent } from '../fixtures/sqs-events';
import { waitUntil } from '../fixtures/wait';

/**
 * Uploads over HTTP and ingestion messages racing `DELETE /bots/{botId}`: once the delete answered, no
 * chunk of the bot is left, whichever writes were running; a write sent after the answer is refused; and
 * `PUT /bots/{botId}` then starts the bot over empty (counts 0, no documents, search finds nothing).
 */
useHttpWorld();
jest.setTimeout(300_000);

/** Writes each writer sends at most before the delete answers, so a failing run still ends. */
const MAX_WRITES_BEFORE = 40;
/** Writes each writer sends once the delete answered. */
const WRITES_AFTER = 2;

const dynamodb = createDynamoDbClient(loadConfig());
const documents = createDocumentClient(dynamodb);
const table = `VectorEmbeddings-http-${suffix}`;

afterAll(() => dynamodb.destroy());

async function chunkCount(botId: string): Promise<number> {
  const { Count = 0 } = await documents.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'bot_id = :b',
      ExpressionAttributeValues: { ':b': botId },
      ConsistentRead: true,
      Select: 'COUNT',
    }),
  );
  return Count;
}

type Outcome = { path: 'http' | 'queue'; startedAfterDelete: boolean; ok: boolean; status: string };

describe('writes racing a bot delete', () => {
  it('leave no chunk once the delete answered, are refused after it, and a re-created bot starts empty', async () => {
    const botId = `race-${randomUUID()}`;
    const put = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { embedding_dimension: DIM },
    });
    expect(put.status).toBe(201);
    let deleteAnswered = false;
    let stop = false;
    const outcomes: Outcome[] = [];
    const chunks = (n: number, seed: number) => Array.from({ length: n }, (_, i) => chunk(i, seed + i));

    /**
     * Whether a writer sends its next write: it writes until the delete answers (pausing once it sent
     * MAX_WRITES_BEFORE, however long the delete takes), then sends WRITES_AFTER more.
     */
    const nextWrite = async (sentAfter: number, sentBefore: number): Promise<boolean> => {
      while (!stop && !deleteAnswered && sentBefore >= MAX_WRITES_BEFORE) await delay(20);
      return !stop && sentAfter < WRITES_AFTER;
    };
    const httpWriter = async (w: number) => {
      for (let n = 0, after = 0; await nextWrite(after, n - after); n++) {
        const startedAfterDelete = deleteAnswered;
        if (startedAfterDelete) after++;
        const answer = await call({
          route: 'POST /bots/{botId}/documents',
          pathParameters: { botId },
          token: alice,
          body: { filename: `http-${w}-${n}.md`, file_size: 10, chunks: chunks(10, n * 100) },
        });
        outcomes.push({
          path: 'http',
          startedAfterDelete,
          ok: answer.status === 200,
          status: String(answer.status),
        });
      }
    };
    const queueWriter = async (w: number) => {
      for (let n = 0, after = 0; await nextWrite(after, n - after); n++) {
        const startedAfterDelete = deleteAnswered;
        if (startedAfterDelete) after++;
        const message = {
          type: 'upsert_document',
          bot_id: botId,
          filename: `queue-${w}-${n}.md`,
          file_size: 10,
          chunks: chunks(10, n * 100),
        };
        // A batch whose every record failed is thrown back whole (Powertools' FullBatchFailureError).
        const ok = await ingest(sqsEvent([message]), lambdaContext()).then(
          (response) => (response as SQSBatchResponse).batchItemFailures.length === 0,
          (error: Error) => {
            if (error.name !== 'FullBatchFailureError') throw error;
            return false;
          },
        );
        outcomes.push({ path: 'queue', startedAfterDelete, ok, status: ok ? 'applied' : 'failed' });
      }
    };
    const writers = Promise.all([httpWriter(0), httpWriter(1), queueWriter(0), queueWriter(1)]).finally(
      () => {
        stop = true;
      },
    );
    let deleted: Awaited<ReturnType<typeof call>> | undefined;
    let leftAtAnswer = -1;
    try {
      await waitUntil(
        'writes landing on both paths',
        () =>
          outcomes.some((o) => o.ok && o.path === 'http') && outcomes.some((o) => o.ok && o.path === 'queue'),
        { timeoutMs: 60_000 },
      );

      do {
        deleted = await call({
          route: 'DELETE /bots/{botId}',
          pathParameters: { botId },
          queryStringParameters: { confirm: botId },
          token: alice,
        });
      } while (deleted.status === 409);
      deleteAnswered = true;
      leftAtAnswer = await chunkCount(botId);
    } catch (error) {
      // A failed run stops the writers; otherwise each ends on its own after its late writes.
      stop = true;
      throw error;
    } finally {
      await writers;
    }

    expect(deleted?.status).toBe(200);
    expect(leftAtAnswer).toBe(0);
    expect(await chunkCount(botId)).toBe(0);
    const late = outcomes.filter((o) => o.startedAfterDelete);
    expect(late).toHaveLength(4 * WRITES_AFTER);
    expect(late.filter((o) => o.ok)).toEqual([]);
    expect(late.filter((o) => o.path === 'http').map((o) => o.status)).toEqual(
      late.filter((o) => o.path === 'http').map(() => '404'),
    );
    expect(outcomes.filter((o) => !o.startedAfterDelete && o.ok).length).toBeGreaterThan(1);
    process.stderr.write(
      `writes: ${outcomes.filter((o) => o.ok).length} applied before the delete, ${late.length} refused after it\n`,
    );

    await runner.drain(60_000);
    const again = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { embedding_dimension: DIM },
    });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ status: 'active', total_chunks: 0, total_documents: 0, name: null });
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect(listed.body.documents).toEqual([]);
    const found = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId },
      token: alice,
      body: { embedding: chunk(0, 0).embedding, limit: 10 },
    });
    expect(found.status).toBe(200);
    expect(found.body.results).toEqual([]);
    expect(await chunkCount(botId)).toBe(0);
  });
});
