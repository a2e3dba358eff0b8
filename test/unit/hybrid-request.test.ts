import { searchQueryOf, searchRequestSchema } from '../../src/contracts/search-request';
import { tokenise } from '../../src/domain/keyword-text';
import { KeywordIndex } from '../../src/domain/ranking/bm25';
import { ValidationError } from '../../src/errors';
import { parseWith } from '../../src/http/request';
import { demoChunks, topIds } from '../../tools/scripts/relevance';

function fieldOf(body: unknown): string {
  try {
    parseWith(searchRequestSchema, body);
  } catch (error) {
    if (error instanceof ValidationError) return error.field;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('keyword and hybrid search requests', () => {
  it('accepts query_text alone, embedding alone, or both with a fusion (rrf k defaults to 60)', () => {
    expect(searchQueryOf(parseWith(searchRequestSchema, { query_text: 'E-1042' }))).toMatchObject({
      queryText: 'E-1042',
      limit: 5,
    });
    const hybrid = parseWith(searchRequestSchema, {
      query_text: 'x',
      embedding: [1],
      fusion: { method: 'rrf' },
    });
    expect(searchQueryOf(hybrid).fusion).toEqual({ method: 'rrf', k: 60 });
    const weighted = parseWith(searchRequestSchema, {
      query_text: 'x',
      embedding: [1],
      fusion: { method: 'weighted', alpha: 0.25 },
    });
    expect(searchQueryOf(weighted).fusion).toEqual({ method: 'weighted', alpha: 0.25 });
    const weightedRrf = parseWith(searchRequestSchema, {
      query_text: 'x',
      embedding: [1],
      fusion: { method: 'rrf', weights: { vector: 1, keyword: 2.5 } },
    });
    expect(searchQueryOf(weightedRrf).fusion).toEqual({
      method: 'rrf',
      k: 60,
      weights: { vector: 1, keyword: 2.5 },
    });
    const dbsf = parseWith(searchRequestSchema, {
      query_text: 'x',
      embedding: [1],
      fusion: { method: 'dbsf' },
    });
    expect(searchQueryOf(dbsf).fusion).toEqual({ method: 'dbsf' });
  });

  it('names the fusion field for weights it cannot use', () => {
    const hybrid = (fusion: unknown) => ({ query_text: 'x', embedding: [1], fusion });
    expect(fieldOf(hybrid({ method: 'rrf', weights: { vector: 0, keyword: 0 } }))).toBe('fusion.weights');
    expect(fieldOf(hybrid({ method: 'rrf', weights: { vector: -1, keyword: 1 } }))).toBe(
      'fusion.weights.vector',
    );
    expect(fieldOf(hybrid({ method: 'rrf', weights: { vector: 1 } }))).toBe('fusion.weights.keyword');
    expect(fieldOf(hybrid({ method: 'dbsf', alpha: 0.5 }))).toMatch(/^fusion/);
  });

  it('names the field of each bad combination', () => {
    expect(fieldOf({})).toBe('embedding');
    expect(fieldOf({ query_text: '   ' })).toBe('query_text');
    expect(fieldOf({ query_text: 'x', fusion: { method: 'rrf' } })).toBe('fusion');
    expect(fieldOf({ query_text: 'x', embedding: [1], fusion: { method: 'weighted', alpha: 2 } })).toMatch(
      /^fusion/,
    );
    expect(fieldOf({ query_text: 'x', embedding: [1], mmr: { diversity: 0.5 } })).toBe('mmr');
    expect(fieldOf({ embedding: [1], score_threshold: 3 })).toBe('score_threshold');
    // BM25 and fused scores are not bounded like cosine: a threshold above 1 is meaningful with query_text.
    expect(parseWith(searchRequestSchema, { query_text: 'x', score_threshold: 3 }).score_threshold).toBe(3);
  });
});

describe('the demo question on a code', () => {
  it('is missed by vector search alone and answered by hybrid search (dev embedder, demo documents)', async () => {
    const chunks = await demoChunks();
    const index = new KeywordIndex(chunks.map((c) => tokenise(c.text)));
    const question = 'upload of a document fails with E-2071 after the controller update';
    expect(topIds(chunks, index, question, 'vector').slice(0, 3)).not.toContain('error-codes.md#2');
    expect(topIds(chunks, index, question, 'hybrid').slice(0, 3)).toContain('error-codes.md#2');
  });
});
