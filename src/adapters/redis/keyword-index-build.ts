/**
 * The bulk write of a keyword index build (docs/snapshot.md, "The keyword index"): the whole build is
 * grouped by term in process, then written as plain multi-field HSETs (one per term's postings, many
 * chunks per docs/df command), pipelined in rounds of bounded size. No Lua runs per chunk or per posting;
 * the build's claim and its publish script are what keep it exact (keyword-index-scripts.ts).
 */
import type { Cluster, Redis } from 'ioredis';
import type { KeywordDocument } from '../../ports';

/** Field/value pairs per HSET, and argument strings per pipelined round (bounds Redis and our memory). */
const FIELDS_PER_HSET = 1000;
const ARGS_PER_ROUND = 200_000;

/** What the publish script checks the written build against. */
export type BuildTotals = { n: number; total: number; terms: number };

/** A chunk's index entry: "length term tf term tf ..." (terms hold no whitespace: the tokeniser splits on it). */
export function keywordEntry(terms: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  let entry = String(terms.length);
  for (const [term, tf] of counts) entry += ` ${term} ${tf}`;
  return entry;
}

/** Pipelined HSETs, sent whenever the round holds ARGS_PER_ROUND argument strings. */
class HsetRounds {
  private pipeline;
  private args = 0;
  constructor(private readonly client: Redis | Cluster) {
    this.pipeline = client.pipeline();
  }
  async hset(key: string, flat: string[]): Promise<void> {
    for (let start = 0; start < flat.length; start += 2 * FIELDS_PER_HSET) {
      const piece = flat.slice(start, start + 2 * FIELDS_PER_HSET);
      this.pipeline.hset(key, ...piece);
      this.args += piece.length;
    }
    if (this.args >= ARGS_PER_ROUND) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.args === 0) return;
    const pipeline = this.pipeline;
    this.pipeline = this.client.pipeline();
    this.args = 0;
    const replies = (await pipeline.exec()) ?? [];
    const failed = replies.find(([error]) => error !== null);
    if (failed !== undefined) throw failed[0];
  }
}

/**
 * Writes `documents` (the last of a chunk id wins) as generation keys `${genBase}:docs`, `:df` and
 * `:p:<term>`. Returns the counts the publish script checks. @throws whatever Redis throws.
 */
export async function writeKeywordBuild(
  client: Redis | Cluster,
  genBase: string,
  documents: readonly KeywordDocument[],
): Promise<BuildTotals> {
  const byId = new Map<string, readonly string[]>();
  for (const document of documents) byId.set(document.chunkId, document.terms);
  // Postings as (chunk number, tf) pairs per term: numbers, not strings, until their round is sent.
  const ids: string[] = [];
  const lengths: number[] = [];
  const postings = new Map<string, number[]>();
  const rounds = new HsetRounds(client);
  let docsFlat: string[] = [];
  let total = 0;
  for (const [chunkId, terms] of byId) {
    const number = ids.length;
    ids.push(chunkId);
    lengths.push(terms.length);
    total += terms.length;
    const counts = new Map<string, number>();
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    let entry = String(terms.length);
    for (const [term, tf] of counts) {
      entry += ` ${term} ${tf}`;
      let list = postings.get(term);
      if (list === undefined) {
        list = [];
        postings.set(term, list);
      }
      list.push(number, tf);
    }
    docsFlat.push(chunkId, entry);
    if (docsFlat.length >= 2 * FIELDS_PER_HSET) {
      await rounds.hset(`${genBase}:docs`, docsFlat);
      docsFlat = [];
    }
  }
  if (docsFlat.length > 0) await rounds.hset(`${genBase}:docs`, docsFlat);
  let dfFlat: string[] = [];
  for (const [term, list] of postings) {
    dfFlat.push(term, String(list.length / 2));
    if (dfFlat.length >= 2 * FIELDS_PER_HSET) {
      await rounds.hset(`${genBase}:df`, dfFlat);
      dfFlat = [];
    }
    const flat: string[] = new Array(list.length);
    for (let i = 0; i < list.length; i += 2) {
      const number = list[i] as number;
      flat[i] = ids[number] as string;
      flat[i + 1] = `${list[i + 1]}:${lengths[number]}`;
    }
    await rounds.hset(`${genBase}:p:${term}`, flat);
  }
  if (dfFlat.length > 0) await rounds.hset(`${genBase}:df`, dfFlat);
  await rounds.flush();
  return { n: ids.length, total, terms: postings.size };
}
