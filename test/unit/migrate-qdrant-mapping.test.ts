import {
  DEFAULT_FIELD_MAP,
  parseFieldMap,
  remainingMetadata,
  valueAtPath,
} from '../../src/contracts/qdrant-field-map';
import {
  type MappedPoint,
  mapPoint,
  type PointMappingOptions,
  pointVector,
  type QdrantPoint,
  type RejectedPoint,
  toIsoTimestamp,
} from '../../src/contracts/qdrant-point';
import { ValidationError } from '../../src/errors';
import { chooseVector } from '../../src/use-cases/migrate-from-qdrant';

const options = (over: Partial<PointMappingOptions> = {}): PointMappingOptions => ({
  fieldMap: DEFAULT_FIELD_MAP,
  bot: { kind: 'fixed', botId: 'bot-1' },
  vectorName: undefined,
  dimension: 3,
  encoding: 'binary',
  defaultFilename: 'my-collection',
  ...over,
});

const point = (payload: Record<string, unknown>, vector: unknown = [0.1, 0.2, 0.3]): QdrantPoint => ({
  id: { kind: 'integer', text: '9007199254740993' },
  payload,
  vector,
});

const chunkOf = (result: MappedPoint | RejectedPoint) => {
  if (result.kind !== 'chunk') throw new Error(`rejected: ${result.reason}`);
  return result.chunk;
};

describe('Qdrant point mapping', () => {
  it('maps a LangChain payload: page_content, metadata.source, the rest of metadata lifted', () => {
    const chunk = chunkOf(
      mapPoint(
        point({ page_content: 'hello', metadata: { source: 'a.pdf', page: 3, author: 'x' } }),
        options(),
      ),
    );
    expect(chunk).toMatchObject({
      bot_id: 'bot-1',
      chunk_id: '9007199254740993',
      text: 'hello',
      filename: 'a.pdf',
      chunk_index: 0,
      file_size: 0,
      created_at: '',
      metadata: { page: 3, author: 'x' },
    });
    expect(Array.from(chunk.embedding)).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3])));
  });

  it('maps a LlamaIndex payload: text from _node_content, flat file metadata, bookkeeping dropped', () => {
    const node = JSON.stringify({ id_: 'n1', text: 'llama text', metadata: { file_name: 'b.md' } });
    const chunk = chunkOf(
      mapPoint(
        point({
          _node_content: node,
          _node_type: 'TextNode',
          file_name: 'b.md',
          file_size: 1234,
          creation_date: '2024-01-15',
          doc_id: 'd1',
          ref_doc_id: 'd1',
        }),
        options(),
      ),
    );
    expect(chunk).toMatchObject({
      text: 'llama text',
      filename: 'b.md',
      file_size: 1234,
      created_at: '2024-01-15T00:00:00.000Z',
      metadata: { doc_id: 'd1', ref_doc_id: 'd1' },
    });
  });

  it('takes fields from --field-map paths and keeps every other payload key as metadata', () => {
    const map = parseFieldMap('text=body,filename=doc.name,chunk_index=pos,created_at=ts');
    const chunk = chunkOf(
      mapPoint(
        point({ body: 'b', doc: { name: 'n.txt', owner: 'o' }, pos: '7', ts: 1700000000, tag: ['x'] }),
        options({ fieldMap: map }),
      ),
    );
    expect(chunk).toMatchObject({
      text: 'b',
      filename: 'n.txt',
      chunk_index: 7,
      created_at: '2023-11-14T22:13:20.000Z',
      metadata: { doc: { name: 'n.txt', owner: 'o' }, tag: ['x'] },
    });
  });

  it('files points without a filename under the default, and takes the bot from a payload key', () => {
    const result = mapPoint(
      point({ text: 't', tenant: 42 }),
      options({ bot: { kind: 'payload', key: 'tenant' } }),
    );
    expect(result).toMatchObject({ kind: 'chunk', botValue: 42 });
    expect(chunkOf(result)).toMatchObject({ bot_id: '42', filename: 'my-collection', metadata: {} });
  });

  it.each([
    ['no text', { title: 'x' }, [1, 2, 3], /no text/],
    ['empty text', { text: '  ' }, [1, 2, 3], /no text/],
    ['a missing vector', { text: 't' }, null, /has no vector/],
    ['the wrong dimension', { text: 't' }, [1, 2], /has 2 values; bot bot-1 expects 3/],
    ['a sparse vector', { text: 't' }, { indices: [1], values: [1] }, /named vectors/],
    ['a bad chunk_index', { text: 't', chunk_index: -1 }, [1, 2, 3], /chunk_index -1/],
  ])('rejects a point with %s, naming why', (_name, payload, vector, reason) => {
    const result = mapPoint(point(payload as Record<string, unknown>, vector), options());
    expect(result.kind).toBe('reject');
    expect((result as RejectedPoint).reason).toMatch(reason);
    expect((result as RejectedPoint).id).toBe('9007199254740993');
  });

  it('keeps a created_at that is no timestamp in metadata as written, and leaves created_at to the run', () => {
    const chunk = chunkOf(mapPoint(point({ text: 't', created_at: '06.03.2024' }), options()));
    expect(chunk).toMatchObject({ created_at: '', metadata: { created_at: '06.03.2024' } });
  });

  it('keeps a LangChain metadata key that a top-level key also names, under metadata', () => {
    const chunk = chunkOf(
      mapPoint(
        point({ page_content: 't', page: 'cover', metadata: { source: 'a.pdf', page: 3, author: 'x' } }),
        options(),
      ),
    );
    expect(chunk.metadata).toEqual({ page: 'cover', author: 'x', metadata: { page: 3 } });
    const reversed = chunkOf(
      mapPoint(point({ metadata: { page: 3 }, page_content: 't', page: 'cover' }), options()),
    );
    expect(reversed.metadata).toEqual({ page: 'cover', metadata: { page: 3 } });
  });

  it('rejects a point without the bot key when bots come from the payload', () => {
    const result = mapPoint(point({ text: 't' }), options({ bot: { kind: 'payload', key: 'tenant' } }));
    expect(result).toMatchObject({
      kind: 'reject',
      botId: undefined,
      reason: expect.stringMatching(/tenant/),
    });
  });

  it('keeps UUID ids as written and picks named vectors', () => {
    const uuid = '5C56C793-69F3-4FBF-87E6-C4BF54C28C26';
    const result = mapPoint(
      { id: { kind: 'uuid', text: uuid }, payload: { text: 't' }, vector: { image: [1], text: [1, 0, 0] } },
      options({ vectorName: 'text' }),
    );
    expect(chunkOf(result).chunk_id).toBe(uuid);
    expect(pointVector({ image: [1] }, 'text')).toMatch(/no vector named "text"/);
    expect(pointVector([[1, 2]], undefined)).toMatch(/multi-vector/);
  });

  it('stores bigint payload values as their exact decimal text', () => {
    const chunk = chunkOf(mapPoint(point({ text: 't', big: 18446744073709551615n }), options()));
    expect(chunk.metadata).toEqual({ big: '18446744073709551615' });
  });
});

describe('field map and payload paths', () => {
  it('rejects unknown fields and malformed entries, naming --field-map', () => {
    expect(() => parseFieldMap('txt=body')).toThrow(/"txt"; the fields are text, filename/);
    expect(() => parseFieldMap('text')).toThrow(ValidationError);
  });

  it('walks dotted paths, into JSON strings, and leaves the rest of the payload as metadata', () => {
    expect(valueAtPath({ a: { b: 1 } }, 'a.b')).toBe(1);
    expect(valueAtPath({ a: '{"b":2}' }, 'a.b')).toBe(2);
    expect(valueAtPath({ a: 1 }, 'a.b')).toBeUndefined();
    expect(
      remainingMetadata({ text: 't', metadata: { source: 's', page: 1 }, k: 2 }, ['text', 'metadata.source']),
    ).toEqual({ page: 1, k: 2 });
  });

  it('normalises timestamps to ISO 8601, reading zone-less ones as UTC as Qdrant does', () => {
    expect(toIsoTimestamp('2024-03-01T10:00:00+01:00')).toBe('2024-03-01T09:00:00.000Z');
    expect(toIsoTimestamp('2024-03-01T10:00:00')).toBe('2024-03-01T10:00:00.000Z');
    expect(toIsoTimestamp('2024-03-01 10:00')).toBe('2024-03-01T10:00:00.000Z');
    expect(toIsoTimestamp(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(toIsoTimestamp('yesterday')).toBeUndefined();
    expect(toIsoTimestamp('06.03.2024')).toBeUndefined();
  });
});

describe('vector choice', () => {
  const vectors = [
    { name: 'text', size: 384, distance: 'Cosine' },
    { name: 'image', size: 512, distance: 'Dot' },
  ];
  it('takes the named vector, or the only one', () => {
    expect(chooseVector(vectors, 'image').size).toBe(512);
    expect(chooseVector([{ name: undefined, size: 3, distance: 'Cosine' }], undefined).size).toBe(3);
  });
  it('names the vectors there are when the name is unknown or missing', () => {
    expect(() => chooseVector(vectors, 'audio')).toThrow('no vector named "audio"; it has "text", "image"');
    expect(() => chooseVector(vectors, undefined)).toThrow(/choose one with --vector/);
  });
});
