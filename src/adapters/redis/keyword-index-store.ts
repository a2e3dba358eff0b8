import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { KeywordChange, KeywordDocument, KeywordIndexStore, KeywordRead } from '../../ports';
import {
  KEYWORD_BEGIN_LUA,
  KEYWORD_BUILD_PIECE_LUA,
  KEYWORD_BUILD_PUBLISH_LUA,
  KEYWORD_BUILD_START_LUA,
  KEYWORD_DROP_LUA,
  KEYWORD_FINISH_LUA,
  KEYWORD_READ_LUA,
} from './keyword-index-scripts';
import { snapshotKeys } from './snapshot-keys';

const SCRIPTS = {
  vsKeywordBegin: { lua: KEYWORD_BEGIN_LUA, numberOfKeys: 2 },
  vsKeywordFinish: { lua: KEYWORD_FINISH_LUA, numberOfKeys: 3 },
  vsKeywordDrop: { lua: KEYWORD_DROP_LUA, numberOfKeys: 1 },
  vsKeywordRead: { lua: KEYWORD_READ_LUA, numberOfKeys: 1 },
  vsKeywordBuildStart: { lua: KEYWORD_BUILD_START_LUA, numberOfKeys: 2 },
  vsKeywordBuildPiece: { lua: KEYWORD_BUILD_PIECE_LUA, numberOfKeys: 1 },
  vsKeywordBuildPublish: { lua: KEYWORD_BUILD_PUBLISH_LUA, numberOfKeys: 2 },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptCall = (...args: string[]) => Promise<unknown>;

/** Chunks per build script call (keeps each call's time in Redis short: other clients wait on it). */
const BUILD_CHUNKS_PER_CALL = 500;

/** A chunk's index entry: "length term tf term tf ..." (terms hold no whitespace: the tokeniser splits on it). */
export function keywordEntry(terms: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  let entry = String(terms.length);
  for (const [term, tf] of counts) entry += ` ${term} ${tf}`;
  return entry;
}

/**
 * A bot's BM25 index in Redis (docs/snapshot.md, "The keyword index"): postings per term, document
 * frequencies, each chunk's length and terms, and the chunk count and total length, under the bot's hash
 * tag next to its snapshot, stamped with the snapshot version it describes. It reads the snapshot's meta
 * and text hashes (never writes them), so the snapshot's layout and scripts do not know about it.
 */
export class RedisKeywordIndexStore implements KeywordIndexStore {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly prefix: string,
  ) {
    for (const [name, definition] of Object.entries(SCRIPTS)) client.defineCommand(name, definition);
  }

  async beginUpdate(botId: string): Promise<string | null> {
    const { base, meta, snapshot } = this.keys(botId);
    const token = randomBytes(9).toString('base64url');
    const begun = await this.call('vsKeywordBegin', meta, snapshot.meta, base, token);
    return begun === 1 ? token : null;
  }

  async finishUpdate(botId: string, token: string, changes: readonly KeywordChange[]): Promise<boolean> {
    const { base, meta, snapshot } = this.keys(botId);
    // Only each chunk's last change counts: the script re-reads whether the snapshot holds the chunk.
    const last = new Map<string, string>();
    for (const change of changes) {
      last.delete(change.chunkId);
      last.set(change.chunkId, change.terms === null ? '' : keywordEntry(change.terms));
    }
    const args = [...last].flat();
    const outcome = await this.call(
      'vsKeywordFinish',
      meta,
      snapshot.meta,
      snapshot.texts,
      base,
      token,
      ...args,
    );
    return outcome === 'ok';
  }

  async drop(botId: string): Promise<void> {
    const { base, meta } = this.keys(botId);
    await this.call('vsKeywordDrop', meta, base);
  }

  async read(botId: string, version: string, terms: readonly string[]): Promise<KeywordRead> {
    const { base, meta } = this.keys(botId);
    const reply = await this.call('vsKeywordRead', meta, base, version, ...terms);
    if (reply === 'busy') return 'busy';
    if (!Array.isArray(reply) || reply[0] !== 'ok') return 'missing';
    const postings = (reply.slice(3) as string[][]).map((flat) => {
      const count = flat.length / 2;
      const chunkIds: string[] = new Array(count);
      const tfs = new Uint32Array(count);
      const lengths = new Uint32Array(count);
      for (let i = 0; i < count; i++) {
        chunkIds[i] = flat[2 * i] as string;
        const value = flat[2 * i + 1] as string;
        const colon = value.indexOf(':');
        tfs[i] = Number(value.slice(0, colon));
        lengths[i] = Number(value.slice(colon + 1));
      }
      return { chunkIds, tfs, lengths };
    });
    return { docCount: Number(reply[1]), totalLength: Number(reply[2]), postings };
  }

  async build(botId: string, version: string, documents: readonly KeywordDocument[]): Promise<boolean> {
    const { base, meta, snapshot } = this.keys(botId);
    const gen = randomBytes(9).toString('base64url');
    if ((await this.call('vsKeywordBuildStart', meta, snapshot.meta, base, gen, version)) !== 1) return false;
    for (let start = 0; start < documents.length; start += BUILD_CHUNKS_PER_CALL) {
      const args: string[] = [];
      for (const document of documents.slice(start, start + BUILD_CHUNKS_PER_CALL)) {
        args.push(document.chunkId, keywordEntry(document.terms));
      }
      if ((await this.call('vsKeywordBuildPiece', meta, base, gen, ...args)) !== 1) return false;
    }
    const published = await this.call(
      'vsKeywordBuildPublish',
      meta,
      snapshot.meta,
      base,
      gen,
      version,
      String(documents.length),
    );
    return published === 1;
  }

  private keys(botId: string) {
    const snapshot = snapshotKeys(this.prefix, botId);
    // Same hash tag as the snapshot's keys: `${prefix}:{bot}:kw`.
    const base = `${snapshot.meta.slice(0, -':meta'.length)}:kw`;
    return { base, meta: `${base}:meta`, snapshot };
  }

  private call(name: ScriptName, ...args: string[]): Promise<unknown> {
    const fn = (this.client as unknown as Record<ScriptName, ScriptCall>)[name];
    return fn.apply(this.client, args);
  }
}
