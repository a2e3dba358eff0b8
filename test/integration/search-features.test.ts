import { randomUUID } from 'node:crypto';
import type { SearchFilter } from '../../src/contracts/search-request';
import { ScoreBuffer } from '../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../src/domain/types';
import { makeSearch, type Search, type SearchOptions, type SearchResult } from '../../src/use-cases/search';
import { filterOf } from '../fixtures/filters';
import { AUTHORS, DAY, EPOCH, filterGenerator, LANGS, TAGS } from '../fixtures/random-filters';
import {
  CapturingLogger,
  randomVector,
  readWholeBot,
  rng,
  type SearchWorld,
  searchIn,
  searchWorld,
} from '../fixtures/search-world';

/**
 * Every search feature (Qdrant-style filters, offset, with_vectors, group_by, MMR) answered from the
 * Redis snapshot, from a memory-mode container's own copy and from the DynamoDB fallback, on random data, against a brute-force reference written here
 * from the documented semantics (not from the implementation's code).
 */
const DIM = 24;
const COUNT = 1000;
const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
const random = rng(seed);
const { pick, randomFilter } = filterGenerator(random);

let world: SearchWorld;
let fallback: Search;
let memory: Search;
let chunks: StoredChunk[];
const botId = `features-${randomUUID()}`;

function randomChunk(i: number): StoredChunk {
  const metadata: Record<string, unknown> = { lang: pick(LANGS), rank: Math.floor(random() * 100) };
  if (random() < 0.8) metadata.tags = Array.from({ length: Math.floor(random() * 3) }, () => pick(TAGS));
  if (random() < 0.6) metadata.author = { name: pick(AUTHORS) };
  const note = random();
  if (note < 0.25) metadata.note = null;
  else if (note < 0.5) metadata.note = 'see also';
  if (random() < 0.5) metadata.published = new Date(EPOCH + Math.floor(random() * 365) * DAY).toISOString();
  // A few near-duplicates of earlier chunks give MMR something to spread out.
  const embedding =
    i > 10 && random() < 0.15
      ? Float32Array.from(
          chunks[Math.floor(random() * i)]?.embedding ?? [],
          (x) => x + (random() - 0.5) * 0.02,
        )
      : Float32Array.from(randomVector(DIM, random));
  return {
    bot_id: botId,
    chunk_id: `c-${String(i).padStart(5, '0')}`,
    embedding: embedding.length === DIM ? embedding : Float32Array.from(randomVector(DIM, random)),
    text: `text ${i}`,
    filename: `doc-${Math.floor(random() * 60)}.md`,
    file_size: 100,
    chunk_index: Math.floor(random() * 40),
    created_at: new Date(EPOCH + Math.floor(random() * 365 * 24) * 3_600_000).toISOString(),
    metadata,
  };
}

// ---- The reference: the documented filter semantics, evaluated directly. ----

type Json = Record<string, unknown>;

function rawOf(chunk: StoredChunk, key: string): { present: boolean; value: unknown } {
  if (key === 'filename') return { present: true, value: chunk.filename };
  if (key === 'chunk_index') return { present: true, value: chunk.chunk_index };
  if (key === 'created_at') return { present: true, value: chunk.created_at };
  let value: unknown = chunk.metadata;
  for (const part of key.slice('metadata.'.length).split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !(part in value)) {
      return { present: false, value: undefined };
    }
    value = (value as Json)[part];
  }
  return { present: true, value };
}

function elements(chunk: StoredChunk, key: string): unknown[] {
  const { present, value } = rawOf(chunk, key);
  if (!present) return [];
  return Array.isArray(value) ? value : [value];
}

function rangeHolds(values: unknown[], range: Json): boolean {
  const isTime = Object.values(range).some((b) => typeof b === 'string');
  return values.some((v) => {
    let n: number;
    if (isTime) {
      if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) return false;
      n = Date.parse(v);
    } else {
      if (typeof v !== 'number') return false;
      n = v;
    }
    const bound = (b: unknown) => (typeof b === 'string' ? Date.parse(b) : (b as number));
    return (
      (range.gt === undefined || n > bound(range.gt)) &&
      (range.gte === undefined || n >= bound(range.gte)) &&
      (range.lt === undefined || n < bound(range.lt)) &&
      (range.lte === undefined || n <= bound(range.lte))
    );
  });
}

function conditionHolds(chunk: StoredChunk, c: Json): boolean {
  if ('must' in c || 'should' in c || 'must_not' in c) return filterHolds(chunk, c);
  if ('is_empty' in c) {
    const { present, value } = rawOf(chunk, (c.is_empty as Json).key as string);
    return !present || value === null || (Array.isArray(value) && value.length === 0);
  }
  if ('is_null' in c) {
    const { present, value } = rawOf(chunk, (c.is_null as Json).key as string);
    return present && value === null;
  }
  if ('has_id' in c) return (c.has_id as string[]).includes(chunk.chunk_id);
  const values = elements(chunk, c.key as string);
  const match = c.match as Json | undefined;
  if (match !== undefined) {
    if ('value' in match && !values.includes(match.value)) return false;
    if ('any' in match && !values.some((v) => (match.any as unknown[]).includes(v))) return false;
    if (
      'except' in match &&
      !values.some((v) => v !== null && typeof v !== 'object' && !(match.except as unknown[]).includes(v))
    ) {
      return false;
    }
  }
  if (c.range !== undefined && !rangeHolds(values, c.range as Json)) return false;
  return true;
}

const listOf = (v: unknown): Json[] => (v === undefined ? [] : Array.isArray(v) ? v : [v as Json]);

function filterHolds(chunk: StoredChunk, f: Json): boolean {
  if (f.filename !== undefined && ![f.filename].flat().includes(chunk.filename)) return false;
  for (const [k, v] of Object.entries((f.metadata ?? {}) as Json)) {
    if (!Object.hasOwn(chunk.metadata, k) || chunk.metadata[k] !== v) return false;
  }
  if (!listOf(f.must).every((c) => conditionHolds(chunk, c))) return false;
  if (listOf(f.must_not).some((c) => conditionHolds(chunk, c))) return false;
  const should = listOf(f.should);
  if (should.length > 0 && !should.some((c) => conditionHolds(chunk, c))) return false;
  return true;
}

// ---- Brute-force ranking. ----

type Ref = { chunk_id: string; score: number; chunk: StoredChunk };

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

function ranked(query: number[], filter: Json | undefined, threshold?: number): Ref[] {
  return chunks
    .filter((c) => filter === undefined || filterHolds(c, filter))
    .map((chunk) => ({ chunk_id: chunk.chunk_id, score: cosine(chunk.embedding, query), chunk }))
    .filter((r) => threshold === undefined || r.score >= threshold)
    .sort((a, b) => b.score - a.score || (a.chunk_id < b.chunk_id ? -1 : 1));
}

/** The stored unit vector as the API documents it: each value scaled by 1/|v| and rounded to float32. */
function unit32(v: Float32Array): number[] {
  let sum = 0;
  for (const x of v) sum += x * x;
  const scale = 1 / Math.sqrt(sum);
  return Array.from(v, (x) => Math.fround(x * scale));
}

function mmrReference(query: number[], candidates: Ref[], count: number, diversity: number): string[] {
  let qn = 0;
  for (const x of query) qn += x * x;
  const unitQuery = query.map((x) => x / Math.sqrt(qn));
  const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
  const vectors = candidates.map((c) => unit32(c.chunk.embedding));
  const relevance = vectors.map((v) => dot(v, unitQuery));
  const chosen: number[] = [];
  while (chosen.length < Math.min(count, candidates.length)) {
    let best = -1;
    let bestValue = 0;
    candidates.forEach((_, i) => {
      if (chosen.includes(i)) return;
      const closest =
        chosen.length === 0
          ? 0
          : Math.max(...chosen.map((j) => dot(vectors[i] as number[], vectors[j] as number[])));
      const value = (1 - diversity) * (relevance[i] as number) - diversity * closest;
      if (best === -1 || value > bestValue) {
        best = i;
        bestValue = value;
      }
    });
    chosen.push(best);
  }
  return chosen.map((i) => (candidates[i] as Ref).chunk_id);
}

// ---- Comparing both sources with the reference. ----

/** The answers of the Redis snapshot, of the memory mode's held copy and of the DynamoDB fallback. */
async function sources(
  query: number[],
  options: SearchOptions,
): Promise<[SearchResult, SearchResult, SearchResult]> {
  const fromSnapshot = await world.search(botId, query, options);
  const fromMemory = await memory(botId, query, options);
  const fromDynamoDb = await fallback(botId, query, options);
  expect(fromSnapshot.source).toBe('snapshot');
  expect(fromMemory.source).toBe('snapshot');
  expect(fromDynamoDb.source).toBe('dynamodb');
  return [fromSnapshot, fromMemory, fromDynamoDb];
}

function expectHits(actual: SearchResult['results'], expected: Ref[], context: unknown): void {
  expect({ context, ids: actual.map((h) => h.chunk_id) }).toEqual({
    context,
    ids: expected.map((r) => r.chunk_id),
  });
  actual.forEach((hit, i) => {
    expect(Math.abs(hit.score - (expected[i] as Ref).score)).toBeLessThan(1e-5);
  });
}

beforeAll(async () => {
  process.stdout.write(`search-features seed ${seed}\n`);
  world = searchWorld();
  fallback = makeSearch({
    bots: world.bots,
    chunks: world.chunks,
    snapshots: null,
    cache: null,
    scores: new ScoreBuffer(),
    logger: new CapturingLogger(),
  });
  chunks = [];
  for (let i = 0; i < COUNT; i++) chunks.push(randomChunk(i));
  await world.bots.ensure(botId, { embedding_dimension: DIM });
  await world.chunks.put(chunks);
  chunks = await readWholeBot(world.chunks, botId);
  // The first search rebuilds the snapshot from DynamoDB; every later one is served from it.
  expect((await world.search(botId, randomVector(DIM, random), { limit: 1 })).source).toBe('dynamodb');
  // A memory-mode container loads the bot on its first search and answers from its copy from then on.
  memory = searchIn(world, 'memory').search;
});
afterAll(() => world.close());

describe('search features, from both snapshot modes and the DynamoDB fallback, against a brute-force reference', () => {
  it('filters with must/should/must_not over every key and operator, returning limit results whenever that many match', async () => {
    let selective = 0;
    for (let q = 0; q < 60; q++) {
      const query = randomVector(DIM, random);
      const filter = randomFilter();
      const limit = 1 + Math.floor(random() * 25);
      const expected = ranked(query, filter);
      if (expected.length > 0 && expected.length < 40) selective++;
      for (const answer of await sources(query, { limit, filter: filterOf(filter as SearchFilter) })) {
        expectHits(answer.results, expected.slice(0, limit), { seed, q, filter });
      }
    }
    // The generator must produce selective filters too, or "limit results whatever the selectivity" is untested.
    expect(selective).toBeGreaterThan(3);
  });

  it('pages with offset and returns unit vectors with with_vectors', async () => {
    for (let q = 0; q < 15; q++) {
      const query = randomVector(DIM, random);
      const filter = q % 2 === 0 ? undefined : randomFilter();
      const offset = Math.floor(random() * 30);
      const limit = 1 + Math.floor(random() * 10);
      const expected = ranked(query, filter).slice(offset, offset + limit);
      const options: SearchOptions = {
        limit,
        offset,
        withVectors: true,
        ...(filter ? { filter: filterOf(filter as SearchFilter) } : {}),
      };
      const [snapshot, held, dynamodb] = await sources(query, options);
      expectHits(snapshot.results, expected, { seed, q, offset });
      expectHits(held.results, expected, { seed, q, offset, mode: 'memory' });
      expectHits(dynamodb.results, expected, { seed, q, offset });
      expect(snapshot.results.map((h) => h.vector)).toEqual(dynamodb.results.map((h) => h.vector));
      expect(held.results.map((h) => h.vector)).toEqual(dynamodb.results.map((h) => h.vector));
      snapshot.results.forEach((hit, i) => {
        expect(hit.vector).toEqual(unit32((expected[i] as Ref).chunk.embedding));
      });
    }
  });

  it('groups by filename: the best documents, each with its best chunks, limit counting groups', async () => {
    for (let q = 0; q < 20; q++) {
      const query = randomVector(DIM, random);
      const filter = q % 3 === 0 ? randomFilter() : undefined;
      const limit = 1 + Math.floor(random() * 8);
      const groupSize = 1 + Math.floor(random() * 4);
      const threshold = q % 4 === 0 ? 0.1 : undefined;
      const byFile = new Map<string, Ref[]>();
      for (const ref of ranked(query, filter, threshold)) {
        const list = byFile.get(ref.chunk.filename) ?? [];
        if (list.length < groupSize) list.push(ref);
        byFile.set(ref.chunk.filename, list);
      }
      // Groups come in the order of their best chunk, which is the order ranked() met them.
      const expected = [...byFile.entries()].slice(0, limit);
      const options: SearchOptions = {
        limit,
        groupBy: { field: 'filename', groupSize },
        ...(filter ? { filter: filterOf(filter as SearchFilter) } : {}),
        ...(threshold === undefined ? {} : { scoreThreshold: threshold }),
      };
      for (const answer of await sources(query, options)) {
        expect(answer.groups?.map((g) => g.id)).toEqual(expected.map(([id]) => id));
        answer.groups?.forEach((group, i) => {
          expectHits(group.hits, (expected[i] as [string, Ref[]])[1], { seed, q, group: group.id });
        });
      }
    }
  });

  it('re-ranks with MMR exactly over the candidates', async () => {
    for (let q = 0; q < 20; q++) {
      // Queries near a stored chunk, where near-duplicates crowd the plain top-k.
      const anchor = chunks[Math.floor(random() * chunks.length)] as StoredChunk;
      const query = Array.from(anchor.embedding, (x) => x + (random() - 0.5) * 0.1);
      const diversity = [0, 0.3, 0.5, 0.8, 1][q % 5] as number;
      const limit = 1 + Math.floor(random() * 10);
      const offset = q % 4 === 0 ? 2 : 0;
      const candidates = limit + offset + Math.floor(random() * 60);
      const filter = q % 3 === 0 ? randomFilter() : undefined;
      const pool = ranked(query, filter).slice(0, candidates);
      const expected = mmrReference(query, pool, offset + limit, diversity).slice(offset);
      const options: SearchOptions = {
        limit,
        offset,
        mmr: { diversity, candidates },
        ...(filter ? { filter: filterOf(filter as SearchFilter) } : {}),
      };
      const [snapshot, held, dynamodb] = await sources(query, options);
      expect({ seed, q, ids: snapshot.results.map((h) => h.chunk_id) }).toEqual({ seed, q, ids: expected });
      expect({ seed, q, memory: held.results.map((h) => h.chunk_id) }).toEqual({ seed, q, memory: expected });
      expect(dynamodb.results.map((h) => h.chunk_id)).toEqual(expected);
    }
  });
});
