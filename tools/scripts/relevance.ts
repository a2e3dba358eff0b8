/**
 * `npm run eval:relevance`: recall@5 of vector, keyword and hybrid search over the labelled set
 * (tools/scripts/relevance/labelled-queries.json) on the demo documents, with the local dev embedder. Runs in
 * process through the same ranking code search uses (BM25 index, fusion, Ranker), no services needed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_BM25, KeywordIndex } from '../../src/domain/bm25';
import { devEmbed } from '../../src/domain/dev-embedder';
import { tokenise } from '../../src/domain/keyword-text';
import { DEFAULT_FUSION, type Fusion } from '../../src/domain/ranking/fusion';
import { rankHybrid } from '../../src/domain/ranking/hybrid-ranking';
import { Ranker } from '../../src/domain/ranking/ranker';
import { cosineWithUnitQuery, normalise } from '../../src/domain/scoring';
import { loadDemoDocuments } from './demo-corpus';

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
  const ids = chunks.map((c) => c.id);
  const unit = normalise(devEmbed(query)) as Float64Array;
  const vector =
    mode === 'keyword' ? null : Float64Array.from(chunks.map((c) => cosineWithUnitQuery(c.vector, unit)));
  const terms = tokenise(query);
  const keyword =
    mode === 'vector' || terms.length === 0
      ? new Float64Array(chunks.length)
      : index.score(terms, DEFAULT_BM25).scores;
  const ranker = new Ranker<number>({ limit: K, offset: 0 });
  if (mode === 'vector') {
    (vector as Float64Array).forEach((score, i) => {
      ranker.selectorFor('').offer(score, ids[i] as string, i);
    });
    return ranker.finish(() => [], []).hits.map((h) => ids[h.ref] as string);
  }
  const groups = ids.map(() => '');
  const { ranked } = rankHybrid({ ids, groups, vector, keyword }, fusion, ranker, undefined);
  return ranked.hits.map((h) => ids[h.ref] as string);
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

async function main(): Promise<void> {
  const labelled = JSON.parse(
    await readFile(join(__dirname, 'relevance', 'labelled-queries.json'), 'utf8'),
  ) as {
    queries: Labelled[];
  };
  const chunks = await demoChunks();
  const index = new KeywordIndex(chunks.map((c) => tokenise(c.text)));
  const modes: Mode[] = ['vector', 'keyword', 'hybrid'];
  const found: Record<Mode, Record<'code' | 'natural' | 'all', [number, number]>> = {
    vector: { code: [0, 0], natural: [0, 0], all: [0, 0] },
    keyword: { code: [0, 0], natural: [0, 0], all: [0, 0] },
    hybrid: { code: [0, 0], natural: [0, 0], all: [0, 0] },
  };
  process.stdout.write(
    `${chunks.length} chunks, ${labelled.queries.length} labelled queries, recall@${K}\n\n`,
  );
  for (const q of labelled.queries) {
    const line: string[] = [];
    for (const mode of modes) {
      const top = topIds(chunks, index, q.query, mode);
      const hit = q.relevant.filter((id) => top.includes(id)).length;
      for (const bucket of [q.kind, 'all'] as const) {
        found[mode][bucket][0] += hit;
        found[mode][bucket][1] += q.relevant.length;
      }
      line.push(`${mode} ${hit}/${q.relevant.length}`);
    }
    process.stdout.write(`  [${q.kind}] ${q.query}\n      ${line.join('   ')}\n`);
  }
  process.stdout.write(`\n| recall@${K} | code queries | natural queries | all |\n|---|---|---|---|\n`);
  for (const mode of modes) {
    const cell = (b: 'code' | 'natural' | 'all') => {
      const [hit, total] = found[mode][b];
      return `${(hit / total).toFixed(2)} (${hit}/${total})`;
    };
    process.stdout.write(`| ${mode} | ${cell('code')} | ${cell('natural')} | ${cell('all')} |\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `eval:relevance failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  });
}
