import { validateDocument } from '../../src/contracts/document-validation';
import {
  packEmbedding,
  parseIngestionMessage,
  parseIngestionMessageJson,
  splitUpsertIntoMessages,
  type UpsertDocumentMessage,
} from '../../src/contracts/ingestion-messages';
import { ValidationError } from '../../src/errors';

function document(chunkCount: number, dimension = 384): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: 'b1',
    filename: 'manual.pdf',
    file_size: 123_456,
    chunks: Array.from({ length: chunkCount }, (_, i) => ({
      chunk_index: i,
      text: `chunk ${i} `.repeat(40),
      embedding: Array.from({ length: dimension }, (_, d) => Math.sin(i * 31 + d) * 0.123456789),
      metadata: { page: i },
    })),
  };
}

function thrown(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('ingestion message parsing', () => {
  it('parses each message type', () => {
    expect(parseIngestionMessage({ type: 'delete_bot', bot_id: 'b1' })).toEqual({
      type: 'delete_bot',
      bot_id: 'b1',
    });
    expect(parseIngestionMessage({ type: 'delete_document', bot_id: 'b1', filename: 'a.pdf' })).toEqual({
      type: 'delete_document',
      bot_id: 'b1',
      filename: 'a.pdf',
    });
    expect(parseIngestionMessage(document(2, 4)).type).toBe('upsert_document');
  });

  it('accepts an embedding as a base64 string', () => {
    const message = document(1, 4);
    message.chunks[0] = { ...message.chunks[0], embedding: packEmbedding([1, 2, 3, 4]) } as never;

    const parsed = parseIngestionMessage(message);

    expect(parsed.type === 'upsert_document' && parsed.chunks[0]?.embedding).toBe(
      packEmbedding([1, 2, 3, 4]),
    );
  });

  it('names an unknown type', () => {
    const error = thrown(() => parseIngestionMessage({ type: 'upsert', bot_id: 'b1' }));

    expect(error.field).toBe('type');
    expect(error.message).toBe(
      'type must be one of upsert_document, delete_document, delete_bot; got "upsert"',
    );
  });

  it('names the missing field of a chunk', () => {
    const message = document(3, 4) as unknown as { chunks: Array<Record<string, unknown>> };
    delete message.chunks[2]?.text;

    const error = thrown(() => parseIngestionMessage(message));

    expect(error.field).toBe('chunks[2].text');
    expect(error.message).toMatch(/^chunks\[2\]\.text: .*expected string/);
  });

  it('names an embedding of the wrong kind', () => {
    const message = document(2, 4) as unknown as { chunks: Array<Record<string, unknown>> };
    (message.chunks[1] as Record<string, unknown>).embedding = { 0: 1 };

    const error = thrown(() => parseIngestionMessage(message));

    expect(error.field).toBe('chunks[1].embedding');
    expect(error.message).toBe(
      'chunks[1].embedding: must be a list of numbers or a base64 string of packed little-endian float32',
    );
  });

  it('refuses chunk metadata with a top-level __proto__ key rather than dropping it', () => {
    const body = JSON.stringify(document(1, 4)).replace('"metadata":{', '"metadata":{"__proto__":{"x":1},');

    const error = thrown(() => parseIngestionMessageJson(body));

    expect(error.field).toBe('chunks[0].metadata');
    expect(error.message).toBe(
      'chunks[0].metadata: has the key "__proto__", which cannot be stored; rename it',
    );
  });

  it('rejects a body that is not JSON', () => {
    const error = thrown(() => parseIngestionMessageJson('{"type":'));

    expect(error.field).toBe('body');
  });
});

describe('splitting a large document upsert', () => {
  it('leaves a document that fits as one message covering every chunk', () => {
    const messages = splitUpsertIntoMessages(document(3));

    expect(messages).toHaveLength(1);
    expect(messages[0]?.total_chunks).toBe(3);
    expect(messages[0]?.chunks.map((c) => c.chunk_index)).toEqual([0, 1, 2]);
  });

  it('splits into messages under the limit that tile the document in contiguous runs', () => {
    const whole = document(120);
    const maxBytes = 256_000;

    const messages = splitUpsertIntoMessages(whole, maxBytes);

    expect(messages.length).toBeGreaterThan(1);
    for (const message of messages) {
      expect(Buffer.byteLength(JSON.stringify(message), 'utf8')).toBeLessThanOrEqual(maxBytes);
      expect(message.total_chunks).toBe(120);
      expect(() => validateDocument(message, { dimension: 384, encoding: 'list' })).not.toThrow();
    }
    expect(messages.flatMap((m) => m.chunks.map((c) => c.chunk_index))).toEqual(
      Array.from({ length: 120 }, (_, i) => i),
    );
  });

  it('fills messages close to the limit, not one chunk at a time', () => {
    const messages = splitUpsertIntoMessages(document(120), 256_000);
    const sizes = messages.map((m) => Buffer.byteLength(JSON.stringify(m), 'utf8'));

    expect(sizes.slice(0, -1).every((size) => size > 256_000 - 12_000)).toBe(true);
  });

  it('packs embeddings as base64 float32 on request, needing about a quarter of the messages', () => {
    const plain = splitUpsertIntoMessages(document(200), 256_000);
    const packed = splitUpsertIntoMessages(document(200), 256_000, { packEmbeddings: true });

    expect(packed.length).toBeLessThan(plain.length / 2);
    const first = packed[0]?.chunks[0];
    const valid = validateDocument(packed[0] as UpsertDocumentMessage, {
      dimension: 384,
      encoding: 'binary',
    });
    expect(typeof first?.embedding).toBe('string');
    expect(valid.chunks[0]?.embedding[5]).toBeCloseTo(Math.sin(5) * 0.123456789, 6);
  });

  it('orders chunks by chunk_index whatever order they came in', () => {
    const whole = document(30);
    whole.chunks.reverse();

    const messages = splitUpsertIntoMessages(whole, 100_000);

    expect(messages.flatMap((m) => m.chunks.map((c) => c.chunk_index))).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
  });

  it('refuses a chunk that cannot fit in a message on its own, naming it', () => {
    const whole = document(3, 4);
    whole.chunks[1] = { ...whole.chunks[1], text: 'x'.repeat(5000) } as never;

    const error = thrown(() => splitUpsertIntoMessages(whole, 4000));

    expect(error.field).toBe('chunks[1]');
    expect(error.message).toMatch(
      /^chunks\[1\] \(chunk_index 1\) needs \d+ bytes in a message; the limit is 4000$/,
    );
  });
});
