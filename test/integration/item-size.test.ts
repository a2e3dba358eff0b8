import { randomUUID } from 'node:crypto';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import {
  itemBytes,
  MAX_CHUNK_ITEM_BYTES,
  MAX_ITEM_BYTES,
  numberProblem,
} from '../../src/contracts/dynamo-limits';
import { chunkItem } from '../../src/domain/chunk-record';
import { EMBEDDING_ENCODINGS } from '../../src/domain/embedding-codec';
import type { StoredChunk } from '../../src/domain/types';
import { replayHint, testSeed } from '../fixtures/random';

/**
 * The item size check against DynamoDB Local: random chunk items within a few hundred bytes of the 400 KB
 * limit (nested metadata of strings, multi-byte text, numbers of every sign and exponent, both embedding
 * encodings) are put as ChunkStore.put writes them. `itemBytes` must agree with DynamoDB's verdict exactly,
 * and the check (MAX_CHUNK_ITEM_BYTES) must never accept an item DynamoDB refuses.
 */
const config = loadConfig();
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const table = config.tables.vectorEmbeddings;
const seed = testSeed();
const runs = Number(process.env.ITEM_SIZE_RUNS ?? 60);

afterAll(() => dynamodb.destroy());

/** Numbers the write path accepts (validation refuses the rest before any size matters). */
const number = fc
  .oneof(
    fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
    fc.integer({ min: -1_000_000, max: 1_000_000 }),
    fc.constantFrom(0, 1.5, -1.5, 0.05, 1500, 1e-7, -1.2e-6, 123456789.125, Number.MAX_SAFE_INTEGER),
  )
  .filter((n) => numberProblem(n) === undefined);
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const leaf = fc.oneof(number, text, fc.boolean(), fc.constant(null));
const metadata = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, leaf, tie('list'), tie('object')),
  list: fc.array(tie('value'), { maxLength: 8 }),
  object: fc.dictionary(
    text.filter((k) => k !== '' && k !== '__proto__'),
    tie('value'),
    { maxKeys: 8 },
  ),
})).object as fc.Arbitrary<Record<string, unknown>>;

const case_ = fc.record({
  encoding: fc.constantFrom(...EMBEDDING_ENCODINGS),
  embedding: fc.array(fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), {
    minLength: 4,
    maxLength: 384,
  }),
  metadata,
  numbers: fc.array(number, { maxLength: 400 }),
  wide: fc.string({ unit: 'grapheme', minLength: 0, maxLength: 30 }),
  offset: fc.integer({ min: -600, max: 600 }),
});

async function accepted(item: Record<string, unknown>): Promise<boolean> {
  try {
    await documents.send(new PutCommand({ TableName: table, Item: item }));
    await documents.send(
      new DeleteCommand({ TableName: table, Key: { bot_id: item.bot_id, chunk_id: item.chunk_id } }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'ValidationException') return false;
    throw error;
  }
}

describe('the item size check against DynamoDB Local', () => {
  it(`agrees with DynamoDB on items near 400 KB, and never accepts one it refuses (${replayHint(seed)})`, async () => {
    const botId = `size-${randomUUID()}`;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(case_, async (c) => {
        const chunk: StoredChunk = {
          bot_id: botId,
          chunk_id: randomUUID(),
          embedding: Float32Array.from(c.embedding.map((v) => (v === 0 ? 0.5 : v))),
          text: c.wide,
          filename: 'near-the-limit.md',
          file_size: 1234,
          chunk_index: 7,
          created_at: '2026-01-01T00:00:00.000Z',
          metadata: { ...c.metadata, numbers: c.numbers },
        };
        // Fill the text with ASCII so the item lands `offset` bytes from the limit.
        const base = itemBytes(chunkItem(chunk, c.encoding));
        chunk.text += 'x'.repeat(Math.max(0, MAX_ITEM_BYTES - base + c.offset));
        const item = chunkItem(chunk, c.encoding);
        const bytes = itemBytes(item);

        const dynamoAccepts = await accepted(item);

        if (!dynamoAccepts) refused++;
        expect({ bytes, dynamoAccepts }).toEqual({ bytes, dynamoAccepts: bytes <= MAX_ITEM_BYTES });
        if (bytes <= MAX_CHUNK_ITEM_BYTES) expect(dynamoAccepts).toBe(true);
      }),
      { seed, numRuns: runs },
    );
    // Both sides of the limit were tried.
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThan(runs);
  });
});
