import { createHash } from 'node:crypto';
import { deterministicChunkId } from '../../src/domain/chunk-id';
import { VERSION_ID_LENGTH, versionedChunkId } from '../../src/domain/document-version';
import type { StoredChunk } from '../../src/domain/types';
import { type Rng, seededRng } from './rng';

/**
 * Synthetic chunks of one bot: unit vectors drawn from a mixture of clusters (as sentence embeddings
 * of a few topics are), ~500-character texts whose words lean towards their cluster's topic words (as a
 * chunk about a topic uses that topic's vocabulary), and the design document's attributes with the
 * document version every upsert writes (docs/ingestion.md, "Versions"). Every array is
 * indexed by row; row i's vector is `vectors.subarray(i * dimension, (i + 1) * dimension)`.
 */
export type BenchDataset = {
  dimension: number;
  count: number;
  vectors: Float32Array;
  /** The cluster (topic) each row's vector and text come from. */
  clusters: Int32Array;
  /** Each cluster's topic words (TOPIC_WORDS of them), which its rows' texts use often. */
  topicWords: string[][];
  /** Stored chunk ids as the write path makes them: `<deterministic id>~<document version>`. */
  chunkIds: string[];
  /** Each row's document version id (every document is one complete version, as after an upsert). */
  versionIds: string[];
  /** Chunks per document (the last document of a prefix may have fewer). */
  chunksPerDocument: number;
  texts: string[];
  filenames: string[];
  chunkIndexes: Int32Array;
  fileSizes: Int32Array;
};

export type DatasetOptions = {
  count: number;
  dimension: number;
  seed: number;
  /** How many topics the vectors cluster around. */
  clusters?: number;
  /** Chunks per document (consecutive rows share a filename). */
  chunksPerDocument?: number;
};

/**
 * How far a point strays from its cluster's centre, as the norm of the noise relative to the unit
 * centre: 1 puts a point at cosine ~0.7 from its centre and ~0.5 from its neighbours, close to what
 * 384-d sentence embeddings of one topic look like.
 */
const NOISE_NORM = 1;

function normalizeInPlace(vector: Float32Array): void {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += (vector[i] as number) ** 2;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) * scale;
}

function clusterCentres(rng: Rng, clusters: number, dimension: number): Float32Array {
  const centres = new Float32Array(clusters * dimension);
  for (let c = 0; c < clusters; c++) {
    const centre = centres.subarray(c * dimension, (c + 1) * dimension);
    for (let d = 0; d < dimension; d++) centre[d] = rng.normal();
    normalizeInPlace(centre);
  }
  return centres;
}

/** Fills `out` (rows of `dimension`) with L2-normalised points of the mixture; returns each row's cluster. */
function fillMixture(rng: Rng, centres: Float32Array, dimension: number, out: Float32Array): Int32Array {
  const clusters = centres.length / dimension;
  const noise = NOISE_NORM / Math.sqrt(dimension);
  const rows = out.length / dimension;
  const clusterOf = new Int32Array(rows);
  for (let row = 0; row < rows; row++) {
    const cluster = rng.int(clusters);
    clusterOf[row] = cluster;
    const point = out.subarray(row * dimension, (row + 1) * dimension);
    for (let d = 0; d < dimension; d++) {
      point[d] = (centres[cluster * dimension + d] as number) + noise * rng.normal();
    }
    normalizeInPlace(point);
  }
  return clusterOf;
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ren',
  'to',
  'sa',
  'vel',
  'in',
  'dor',
  'pa',
  'que',
  'tis',
  'um',
  'ber',
  'no',
];

/**
 * `size` distinct pseudo-words of 2 to 4 syllables. Distinct, so no word is drawn far more often than the
 * others: a short word repeated through the vocabulary would occur in most chunks, like a stop word the
 * tokeniser keeps, which real text (its stop words removed) does not have.
 */
function vocabulary(rng: Rng, size: number): string[] {
  const words = new Set<string>();
  while (words.size < size) {
    let word = '';
    const syllables = 2 + rng.int(3);
    for (let s = 0; s < syllables; s++) word += SYLLABLES[rng.int(SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

/** Topic words per cluster, and the share of a chunk's words drawn from its cluster's topic words. */
export const TOPIC_WORDS = 40;
const TOPIC_SHARE = 0.25;

/** Each cluster's topic words: distinct words of the shared vocabulary, drawn per cluster. */
function topicVocabularies(rng: Rng, words: string[], clusters: number): string[][] {
  const topics: string[][] = [];
  for (let c = 0; c < clusters; c++) {
    const topic = new Set<string>();
    while (topic.size < Math.min(TOPIC_WORDS, words.length))
      topic.add(words[rng.int(words.length)] as string);
    topics.push([...topic]);
  }
  return topics;
}

/**
 * A text of 450 to 550 characters: sentences of pseudo-words, like a chunk of a document, a quarter of
 * its words from its topic's words.
 */
function chunkText(rng: Rng, words: string[], topic: readonly string[]): string {
  const target = 450 + rng.int(101);
  let text = '';
  let sentenceLength = 0;
  while (text.length < target) {
    const from = rng.next() < TOPIC_SHARE ? topic : words;
    const word = from[rng.int(from.length)] as string;
    if (sentenceLength === 0) text += (text.length > 0 ? ' ' : '') + word[0]?.toUpperCase() + word.slice(1);
    else text += ` ${word}`;
    sentenceLength++;
    if (sentenceLength > 6 && rng.next() < 0.15) {
      text += '.';
      sentenceLength = 0;
    }
  }
  return `${text.slice(0, target - 1)}.`;
}

/**
 * One bot's chunks, the same for the same options. A dataset of N rows is a prefix of a dataset of
 * more rows with the same seed, so one generation serves every size.
 */
export function generateDataset(options: DatasetOptions): BenchDataset {
  const { count, dimension, seed } = options;
  const clusters = options.clusters ?? 100;
  const chunksPerDocument = options.chunksPerDocument ?? 25;
  const vectorRng = seededRng(seed);
  const textRng = seededRng(seed ^ 0x5bd1e995);
  const centres = clusterCentres(vectorRng, clusters, dimension);
  const vectors = new Float32Array(count * dimension);
  const clusterOf = fillMixture(vectorRng, centres, dimension, vectors);
  const words = vocabulary(textRng, 3000);
  const topicWords = topicVocabularies(textRng, words, clusters);
  const chunkIds: string[] = [];
  const texts: string[] = [];
  const filenames: string[] = [];
  const chunkIndexes = new Int32Array(count);
  const fileSizes = new Int32Array(count);
  const versionIds: string[] = [];
  let fileSize = 0;
  let versionId = '';
  for (let row = 0; row < count; row++) {
    const document = Math.floor(row / chunksPerDocument);
    const chunkIndex = row % chunksPerDocument;
    if (chunkIndex === 0) fileSize = 20_000 + textRng.int(2_000_000);
    const filename = asDecoded(`document-${String(document).padStart(5, '0')}.pdf`);
    if (chunkIndex === 0)
      versionId = createHash('sha256').update(filename).digest('hex').slice(0, VERSION_ID_LENGTH);
    chunkIds.push(asDecoded(versionedChunkId(deterministicChunkId(filename, chunkIndex), versionId)));
    versionIds.push(versionId);
    filenames.push(filename);
    chunkIndexes[row] = chunkIndex;
    fileSizes[row] = fileSize;
    texts.push(chunkText(textRng, words, topicWords[clusterOf[row] as number] as string[]));
  }
  return {
    dimension,
    count,
    vectors,
    clusters: clusterOf,
    topicWords,
    chunkIds,
    versionIds,
    chunksPerDocument,
    texts,
    filenames,
    chunkIndexes,
    fileSizes,
  };
}

/**
 * The string as the product holds it: search reads ids and filenames out of JSON (snapshot rows,
 * DynamoDB responses), which gives flat strings. V8 keeps a string built by concatenation as a rope and
 * flattens it at its first comparison, so rope ids would charge the in-process benchmarks a cost
 * (about 0.5 ms a hybrid query at 100k) that search never pays.
 */
function asDecoded(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/**
 * Query vectors from the same mixture as the dataset of the same seed (same cluster centres, fresh
 * points), so each query has close neighbours, as a user's question about a topic of the bot does.
 */
export function generateQueries(options: DatasetOptions & { queries: number }): Float32Array[] {
  return generateTopicalQueries(options).map((query) => query.vector);
}

/** A query vector and the cluster (topic) it was drawn around. */
export type TopicalQuery = { vector: Float32Array; cluster: number };

/** The queries of `generateQueries`, each with its cluster, so a query text can speak of the same topic. */
export function generateTopicalQueries(options: DatasetOptions & { queries: number }): TopicalQuery[] {
  const { dimension, seed } = options;
  const vectorRng = seededRng(seed);
  const centres = clusterCentres(vectorRng, options.clusters ?? 100, dimension);
  const queryRng = seededRng(seed ^ 0x27d4eb2f);
  const all = new Float32Array(options.queries * dimension);
  const clusterOf = fillMixture(queryRng, centres, dimension, all);
  const queries: TopicalQuery[] = [];
  for (let q = 0; q < options.queries; q++) {
    queries.push({ vector: all.slice(q * dimension, (q + 1) * dimension), cluster: clusterOf[q] as number });
  }
  return queries;
}

/** Rows 0..count-1 of a dataset (shared buffers, no copy of the vectors). */
export function prefixOf(dataset: BenchDataset, count: number): BenchDataset {
  return {
    dimension: dataset.dimension,
    count,
    vectors: dataset.vectors.subarray(0, count * dataset.dimension),
    clusters: dataset.clusters.subarray(0, count),
    topicWords: dataset.topicWords,
    chunkIds: dataset.chunkIds.slice(0, count),
    versionIds: dataset.versionIds.slice(0, count),
    chunksPerDocument: dataset.chunksPerDocument,
    texts: dataset.texts.slice(0, count),
    filenames: dataset.filenames.slice(0, count),
    chunkIndexes: dataset.chunkIndexes.subarray(0, count),
    fileSizes: dataset.fileSizes.subarray(0, count),
  };
}

/** Row `row` as the item the write path stores (the embedding is a copy, safe to keep). */
export function storedChunk(
  dataset: BenchDataset,
  botId: string,
  row: number,
  createdAt: string,
): StoredChunk {
  const { dimension, chunksPerDocument } = dataset;
  const chunkIndex = dataset.chunkIndexes[row] as number;
  // Every document is one complete version; the last one of a prefix has the rows the prefix holds.
  const chunks = Math.min(chunksPerDocument, dataset.count - (row - chunkIndex));
  return {
    bot_id: botId,
    chunk_id: dataset.chunkIds[row] as string,
    embedding: dataset.vectors.slice(row * dimension, (row + 1) * dimension),
    text: dataset.texts[row] as string,
    filename: dataset.filenames[row] as string,
    file_size: dataset.fileSizes[row] as number,
    chunk_index: dataset.chunkIndexes[row] as number,
    created_at: createdAt,
    metadata: { source: 'bench', section: `s${chunkIndex % 5}` },
    version: { id: dataset.versionIds[row] as string, chunks, at: createdAt },
  };
}
