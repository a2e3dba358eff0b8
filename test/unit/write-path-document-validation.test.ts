import { validateDocument } from '../../src/contracts/document-validation';
import { packEmbedding, type UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { deterministicChunkId } from '../../src/domain/chunk-id';
import { TIMESTAMP_FORMS } from '../../src/domain/timestamp';
import { ValidationError } from '../../src/errors';

const dimension = 4;
const options = { dimension, encoding: 'list' as const };

function upsert(overrides: Partial<UpsertDocumentMessage> = {}, chunkCount = 3): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: 'b1',
    filename: 'guide.pdf',
    file_size: 2048,
    chunks: Array.from({ length: chunkCount }, (_, i) => ({
      chunk_index: i,
      text: `chunk ${i}`,
      embedding: [i, 0.5, -0.5, 1],
    })),
    ...overrides,
  };
}

function withChunk(index: number, patch: Record<string, unknown>): UpsertDocumentMessage {
  const message = upsert();
  message.chunks[index] = { ...message.chunks[index], ...patch } as UpsertDocumentMessage['chunks'][number];
  return message;
}

function rejection(message: UpsertDocumentMessage, opts = options): ValidationError {
  try {
    validateDocument(message, opts);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('document validation', () => {
  it('accepts a whole document, deriving chunk ids from filename and chunk_index', () => {
    const valid = validateDocument(upsert(), options);

    expect(valid.total_chunks).toBe(3);
    expect([valid.first_index, valid.last_index]).toEqual([0, 2]);
    expect(valid.chunks.map((c) => c.chunk_id)).toEqual(
      [0, 1, 2].map((i) => deterministicChunkId('guide.pdf', i)),
    );
    expect(Array.from(valid.chunks[1]?.embedding ?? [])).toEqual([1, 0.5, -0.5, 1]);
    expect(valid.chunks[0]?.metadata).toEqual({});
  });

  it('keeps a chunk_id the caller supplies', () => {
    const valid = validateDocument(withChunk(1, { chunk_id: 'my-id' }), options);

    expect(valid.chunks[1]?.chunk_id).toBe('my-id');
  });

  it('decodes a base64 packed float32 embedding', () => {
    const valid = validateDocument(withChunk(0, { embedding: packEmbedding([0.25, 0.5, 0.75, 1]) }), options);

    expect(Array.from(valid.chunks[0]?.embedding ?? [])).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it.each([
    ['bot_id', upsert({ bot_id: '' }), 'bot_id must not be empty'],
    ['filename', upsert({ filename: '  ' }), 'filename must not be empty'],
    ['file_size', upsert({ file_size: -1 }), 'file_size must be a non-negative integer (bytes); got -1'],
    ['file_size', upsert({ file_size: 10.5 }), 'file_size must be a non-negative integer (bytes); got 10.5'],
    [
      'created_at',
      upsert({ created_at: 'yesterday' }),
      `created_at must be ${TIMESTAMP_FORMS}; got "yesterday"`,
    ],
    [
      'created_at',
      upsert({ created_at: '06.03.2024' }),
      `created_at must be ${TIMESTAMP_FORMS}; got "06.03.2024"`,
    ],
    [
      'chunks',
      upsert({}, 0),
      'chunks must hold at least one chunk (send delete_document to remove a document)',
    ],
    ['total_chunks', upsert({ total_chunks: 0 }), 'total_chunks must be a positive integer; got 0'],
    [
      'chunks[1].embedding',
      withChunk(1, { embedding: [1, 2, 3] }),
      'chunks[1].embedding has 3 values; bot b1 expects 4',
    ],
    [
      'chunks[2].embedding',
      withChunk(2, { embedding: packEmbedding([1, 2, 3, 4, 5]) }),
      'chunks[2].embedding has 5 values; bot b1 expects 4',
    ],
    [
      'chunks[0].embedding',
      withChunk(0, { embedding: [1, Number.NaN, 0, 0] }),
      'chunks[0].embedding[1] is NaN; embedding values must be finite numbers of magnitude at most 1000000000000000',
    ],
    [
      'chunks[0].embedding',
      withChunk(0, { embedding: packEmbedding([1, Number.POSITIVE_INFINITY, 0, 0]) }),
      'chunks[0].embedding[1] is not a finite number',
    ],
    [
      'chunks[1].embedding',
      withChunk(1, { embedding: [1, '2', 0, 0] }),
      'chunks[1].embedding[1] is not a number',
    ],
    ['chunks[2].text', withChunk(2, { text: '' }), 'chunks[2].text must not be empty'],
    [
      'chunks[1].chunk_index',
      withChunk(1, { chunk_index: -1 }),
      'chunks[1].chunk_index must be a non-negative integer; got -1',
    ],
    [
      'chunks[1].chunk_index',
      withChunk(1, { chunk_index: 1.5 }),
      'chunks[1].chunk_index must be a non-negative integer; got 1.5',
    ],
    ['chunks[2].chunk_index', withChunk(2, { chunk_index: 0 }), 'chunks[2].chunk_index 0 repeats chunks[0]'],
    [
      'chunks[2].chunk_index',
      withChunk(2, { chunk_index: 3 }),
      'chunks[2].chunk_index is 3, but chunks holds 3',
    ],
    ['chunks[1].chunk_id', withChunk(1, { chunk_id: '' }), 'chunks[1].chunk_id must not be empty'],
  ])('rejects a bad %s, naming it', (field, message, text) => {
    const error = rejection(message);

    expect(error.field).toBe(field);
    expect(error.message).toBe(text);
  });

  it('rejects two chunks with the same supplied chunk_id', () => {
    const message = upsert();
    message.chunks[0] = { ...message.chunks[0], chunk_id: 'same' } as UpsertDocumentMessage['chunks'][number];
    message.chunks[2] = { ...message.chunks[2], chunk_id: 'same' } as UpsertDocumentMessage['chunks'][number];

    const error = rejection(message);

    expect(error.field).toBe('chunks[2].chunk_id');
    expect(error.message).toBe('chunks[2].chunk_id "same" repeats chunks[0]');
  });

  it('rejects a chunk too large for a DynamoDB item', () => {
    const error = rejection(withChunk(1, { text: 'x'.repeat(420 * 1024) }));

    expect(error.field).toBe('chunks[1]');
    expect(error.message).toMatch(
      /^chunks\[1\] would be \d+ bytes stored \(about \d+ KB\); a chunk's item holds at most 408576 bytes \(DynamoDB's 409600-byte limit less a 1024-byte margin\)$/,
    );
  });

  it('accepts one part of a split document: a contiguous range below total_chunks', () => {
    const message = upsert({ total_chunks: 10 });
    message.chunks = message.chunks.map((c) => ({ ...c, chunk_index: c.chunk_index + 4 }));

    const valid = validateDocument(message, options);

    expect([valid.first_index, valid.last_index, valid.total_chunks]).toEqual([4, 6, 10]);
  });

  it('rejects a part whose chunk_index reaches total_chunks', () => {
    const error = rejection(withChunk(2, { chunk_index: 5 }), options);
    const split = rejection({ ...withChunk(2, { chunk_index: 9 }), total_chunks: 9 });

    expect(error.message).toBe('chunks[2].chunk_index is 5, but chunks holds 3');
    expect(split.message).toBe('chunks[2].chunk_index is 9, but total_chunks is 9');
  });

  it('rejects a part with a gap in its range, since parts must tile the document', () => {
    const error = rejection({ ...withChunk(2, { chunk_index: 5 }), total_chunks: 10 });

    expect(error.field).toBe('chunks');
    expect(error.message).toBe('chunks must cover a contiguous range of chunk_index; 0..5 is missing 2');
  });

  describe('refuses whole, before any write, what DynamoDB or the SDK would refuse', () => {
    const nested = (depth: number): Record<string, unknown> => {
      let value: Record<string, unknown> = { leaf: 1 };
      for (let level = 1; level < depth; level++) value = { a: value };
      return value;
    };

    it.each<[string, UpsertDocumentMessage, string, RegExp]>([
      [
        'a bot id of 1,024 characters but 3,072 bytes',
        upsert({ bot_id: '€'.repeat(1024) }),
        'bot_id',
        /3072 bytes of UTF-8; the limit is 2048/,
      ],
      [
        'a filename over 1,024 bytes',
        upsert({ filename: 'ü'.repeat(513) }),
        'filename',
        /1026 bytes of UTF-8; the limit is 1024/,
      ],
      ['a bot id that is a URL dot segment', upsert({ bot_id: '..' }), 'bot_id', /dot segment/],
      [
        'metadata 1e400 (Infinity once parsed)',
        withChunk(1, { metadata: { n: JSON.parse('1e400') } }),
        'chunks[1].metadata.n',
        /finite numbers only/,
      ],
      [
        'metadata 1e200',
        withChunk(1, { metadata: { n: 1e200 } }),
        'chunks[1].metadata.n',
        /limited to ±9007199254740991/,
      ],
      [
        'metadata 1e-200',
        withChunk(1, { metadata: { n: 1e-200 } }),
        'chunks[1].metadata.n',
        /at least 1e-130/,
      ],
      [
        'metadata 5e-324',
        withChunk(1, { metadata: { list: [1, 5e-324] } }),
        'chunks[1].metadata.list[1]',
        /at least 1e-130/,
      ],
      [
        'metadata above 2^53',
        withChunk(1, { metadata: { big: 2 ** 53 + 2 } }),
        'chunks[1].metadata.big',
        /limited to ±/,
      ],
      [
        'metadata nested 40 deep',
        withChunk(0, { metadata: nested(40) }),
        'chunks[0].metadata',
        /deeper than 31 levels/,
      ],
      [
        'metadata nested 32 deep',
        withChunk(0, { metadata: nested(32) }),
        'chunks[0].metadata',
        /deeper than 31 levels/,
      ],
      [
        'metadata with an empty key',
        withChunk(2, { metadata: { ok: { '': 1 } } }),
        'chunks[2].metadata.ok',
        /empty key/,
      ],
      [
        'metadata with the key __proto__ (as JSON.parse makes it)',
        withChunk(1, { metadata: { ok: JSON.parse('{"__proto__": true}') } }),
        'chunks[1].metadata.ok',
        /"__proto__", which cannot be stored/,
      ],
      [
        'an embedding value of 1e20',
        withChunk(0, { embedding: [1, 1e20, 0, 0] }),
        'chunks[0].embedding',
        /embedding\[1\] is 100000000000000000000; embedding values must be finite/,
      ],
      [
        'an embedding value of 3e38',
        withChunk(0, { embedding: [3e38, 1, 0, 0] }),
        'chunks[0].embedding',
        /embedding\[0\] is 3e\+38/,
      ],
      [
        'an embedding value of 1e200 (not "all zeros")',
        withChunk(0, { embedding: [1e200, 0, 0, 0] }),
        'chunks[0].embedding',
        /embedding\[0\] is 1e\+200/,
      ],
      [
        'an all-zero embedding',
        withChunk(2, { embedding: [0, 0, 0, 0] }),
        'chunks[2].embedding',
        /must not be all zeros/,
      ],
      [
        'an embedding that rounds to zero in float32',
        withChunk(2, { embedding: [1e-200, 0, 0, 0] }),
        'chunks[2].embedding',
        /must not be all zeros/,
      ],
      [
        'a chunk_id over 1,024 bytes',
        withChunk(0, { chunk_id: '✓'.repeat(342) }),
        'chunks[0].chunk_id',
        /the limit is 1024/,
      ],
    ])('%s', (_, message, field, text) => {
      const error = rejection(message);

      expect(error.field).toBe(field);
      expect(error.message).toMatch(text);
    });

    it('accepts the limits themselves: 2,048-byte bot id, 1,024-byte filename, 31 levels, 1e-130, 2^53 - 1', () => {
      const message = upsert({ bot_id: 'é'.repeat(1024), filename: 'é'.repeat(512) });
      message.chunks[0] = {
        ...message.chunks[0],
        metadata: { deep: nested(30), tiny: 1e-130, big: Number.MAX_SAFE_INTEGER, zero: 0 },
      } as UpsertDocumentMessage['chunks'][number];

      expect(validateDocument(message, options).chunks).toHaveLength(3);
    });

    it('sizes the item with the configured encoding: a chunk that fits as binary can be too large as a list', () => {
      const dims = 12_000;
      const embedding = Array.from({ length: dims }, (_, i) => 0.1 + i / dims);
      const text = 'x'.repeat(300 * 1024);
      const message = upsert({
        chunks: [{ chunk_index: 0, text, embedding }],
      });

      expect(validateDocument(message, { dimension: dims, encoding: 'binary' }).chunks).toHaveLength(1);
      expect(rejection(message, { dimension: dims, encoding: 'list' }).field).toBe('chunks[0]');
    });
  });
});
