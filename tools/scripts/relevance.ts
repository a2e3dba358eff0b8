/**
 * `npm run eval:relevance -- [--set=demo|manpages] [--queries=N] [--k=10]`: nDCG@k and recall@k of vector
 * search, keyword search and each fusion over a labelled set, through the same ranking code search uses
 * (BM25 index, fusion, Ranker), in process, no services needed.
 * - `demo` (default): the demo documents and tools/scripts/relevance/labelled-queries.json, judged by
 *   chunk; a smoke test.
 * - `manpages`: a known-item set of about 900 queries over Debian's manpages-dev
 *   (tools/scripts/relevance/manpages-set.ts), judged by page.
 * Vectors come from the dev embedder (a hashed bag of words): no 384-d sentence model can be installed on
 * this machine (docs/keyword-search.md says what was tried), so the vector rows measure that stand-in.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { devEmbed } from '../../src/domain/dev-embedder';
import { tokenise } from '../../src/domain/keyword-text';
import { DEFAULT_BM25, KeywordIndex } from '../../src/domain/ranking/bm25';
import { DEFAULT_FUSION, type Fusion } from '../../src/domain/ranking/fusion';
import { rankHybrid } from '../../src/domain/ranking/hybrid-ranking';
import { Ranker } from '../../src/domain/ranking/ranker';
import { cosineWithUnitQuery, normalise } from '../../src/domain/ranking/scoring';
import { loadDemoDocuments } from './demo-corpus';
import { manpagesSet } from './relevance/manpages-set';
import { firstDocuments, ndcgAt, recallAt } from './relevance/metrics';
import type { RelevanceSet } from './relevance/relevance-set';

const USAGE = 'usage: npm run eval:relevance -- [--set=demo|manpages] [--queries=N] [--k=10]';

type Labelled = { query: string; kind: 'code' | 'natural'; relevant: string[] };
const K = 5;

export type Mode = 'vector' | 'keyword' | 'hybrid';

/** The top-K chunk ids for a query, by the given mode, over the demo chunks. */
export function topIds(
  chunks: { id: string; text: string; vector: number[] }[],
  index: KeywordIndex,
  query: string,
  mode: Mode,
  fusion: Fusion = DEFAULT_FUSION,
): string[] {
  const unit = normalise(devEmbed(query)) as Float64Array;
  const vector = Float64Array.from(chunks.map((c) => cosineWithUnitQuery(c.vector, unit)));
  const terms = tokenise(query);
  const keyword =
    terms.length === 0 ? new Float64Array(chunks.length) : index.score(terms, DEFAULT_BM25).scores;
  const method: Method = { name: mode, fusion: mode === 'hybrid' ? fusion : mode };
  return rankChunks(
    chunks.map((c) => c.id),
    vector,
    keyword,
    method,
    K,
  );
}

export async function demoChunks(): Promise<{ id: string; text: string; vector: number[] }[]> {
  const documents = await loadDemoDocuments();
  return documents.flatMap((d) =>
    d.paragraphs.map((text, i) => ({
      id: `${d.filename}#${i}`,
      text,
      vector: devEmbed(`${d.title}. ${text}`),
    })),
  );
}

/** The demo set: the demo chunks, judged by chunk (labelled-queries.json). */
async function demoSet(): Promise<RelevanceSet> {
  const labelled = JSON.parse(
    await readFile(join(__dirname, 'relevance', 'labelled-queries.json'), 'utf8'),
  ) as { queries: Labelled[] };
  const documents = await loadDemoDocuments();
  return {
    name: 'demo',
    source: 'the demo documents (tools/scripts/demo-docs) and tools/scripts/relevance/labelled-queries.json',
    unit: 'chunk',
    chunks: documents.flatMap((d) =>
      d.paragraphs.map((text, i) => ({ id: `${d.filename}#${i}`, document: `${d.filename}#${i}`, text })),
    ),
    queries: labelled.queries.map((q) => ({ query: q.query, relevant: q.relevant })),
  };
}

type Method = { name: string; fusion: Fusion | 'vector' | 'keyword' };

const METHODS: Method[] = [
  { name: 'vector (dev embedder)', fusion: 'vector' },
  { name: 'keyword (BM25)', fusion: 'keyword' },
  { name: 'hybrid rrf (k 60)', fusion: { method: 'rrf', k: 60 } },
  {
    name: 'hybrid weighted rrf (vector 1, keyword 2)',
    fusion: { method: 'rrf', k: 60, weights: { vector: 1, keyword: 2 } },
  },
  { name: 'hybrid weighted (alpha 0.5)', fusion: { method: 'weighted', alpha: 0.5 } },
  { name: 'hybrid dbsf', fusion: { method: 'dbsf' } },
];

/** Chunk ids ranked by one method, best first, at most `limit`; keyword search keeps only matching chunks. */
function rankChunks(
  ids: readonly string[],
  vector: Float64Array,
  keyword: Float64Array,
  method: Method,
  limit: number,
): string[] {
  const ranker = new Ranker<number>({ limit, offset: 0 });
  if (method.fusion === 'vector' || method.fusion === 'keyword') {
    const scores = method.fusion === 'vector' ? vector : keyword;
    const selector = ranker.selectorFor('');
    scores.forEach((score, i) => {
      if (method.fusion === 'vector' || score > 0) selector.offer(score, ids[i] as string, i);
    });
    return ranker.finish(() => [], []).hits.map((h) => ids[h.ref] as string);
  }
  const groups = ids.map(() => '');
  const { ranked } = rankHybrid({ ids: [...ids], groups, vector, keyword }, method.fusion, ranker, undefined);
  return ranked.hits.map((h) => ids[h.ref] as string);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      set: { type: 'string', default: 'demo' },
      queries: { type: 'string' },
      k: { type: 'string', default: '10' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1 || k > 100) throw new Error('--k takes a whole number from 1 to 100');
  const progress = (line: string) => process.stderr.write(`[eval:relevance] ${line}\n`);
  let set: RelevanceSet;
  if (values.set === 'demo') set = await demoSet();
  else if (values.set === 'manpages')
    set = await manpagesSet(join(process.cwd(), '.local', 'relevance'), progress);
  else throw new Error(`--set=${values.set}: no such set; the sets are demo and manpages`);
  let queries = set.queries;
  if (values.queries !== undefined) {
    const wanted = Number(values.queries);
    if (!Number.isInteger(wanted) || wanted < 1) throw new Error('--queries takes a whole number above 0');
    // Every n-th query, so a smaller run still spans the whole set.
    const step = Math.max(1, Math.floor(queries.length / wanted));
    queries = queries.filter((_, i) => i % step === 0).slice(0, wanted);
  }
  const ids = set.chunks.map((chunk) => chunk.id);
  const documentOf = new Map(set.chunks.map((chunk) => [chunk.id, chunk.document]));
  progress(`${set.chunks.length} chunks: embedding and indexing`);
  const dimension = 384;
  const vectors = new Float64Array(ids.length * dimension);
  set.chunks.forEach((chunk, i) => {
    vectors.set(normalise(devEmbed(chunk.text)) as Float64Array, i * dimension);
  });
  const index = new KeywordIndex(set.chunks.map((chunk) => tokenise(chunk.text)));
  // A page set is judged by document: enough chunks to reach k distinct documents.
  const limit = set.unit === 'chunk' ? k : Math.min(ids.length, k * 20);
  const totals = METHODS.map(() => ({ ndcg: 0, recall: 0 }));
  const started = performance.now();
  for (const [q, { query, relevant }] of queries.entries()) {
    const unit = normalise(devEmbed(query)) as Float64Array;
    const vector = new Float64Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      let dot = 0;
      for (let d = 0; d < dimension; d++) dot += (vectors[i * dimension + d] as number) * (unit[d] as number);
      vector[i] = dot;
    }
    const terms = tokenise(query);
    const keyword =
      terms.length === 0 ? new Float64Array(ids.length) : index.score(terms, DEFAULT_BM25).scores;
    const wanted = new Set(relevant);
    for (const [m, method] of METHODS.entries()) {
      const chunks = rankChunks(ids, vector, keyword, method, limit);
      const ranked = firstDocuments(chunks, (id) => documentOf.get(id) as string, k);
      (totals[m] as { ndcg: number }).ndcg += ndcgAt(ranked, wanted, k);
      (totals[m] as { recall: number }).recall += recallAt(ranked, wanted, k);
    }
    const done = q + 1;
    if (done % 100 === 0 && done < queries.length) {
      const rate = done / ((performance.now() - started) / 1000);
      progress(
        `${done}/${queries.length} queries, ${rate.toFixed(0)}/s, ETA ${Math.ceil((queries.length - done) / rate)} s`,
      );
    }
  }
  process.stdout.write(
    `set: ${set.name}: ${set.source}\n${set.chunks.length} chunks, ${queries.length} queries, judged by ${set.unit}\n\n`,
  );
  process.stdout.write(`| method | nDCG@${k} | recall@${k} |\n|---|---:|---:|\n`);
  for (const [m, method] of METHODS.entries()) {
    const total = totals[m] as { ndcg: number; recall: number };
    process.stdout.write(
      `| ${method.name} | ${(total.ndcg / queries.length).toFixed(3)} | ${(total.recall / queries.length).toFixed(3)} |\n`,
    );
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `eval:relevance failed: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`,
    );
    process.exit(1);
  });
}
