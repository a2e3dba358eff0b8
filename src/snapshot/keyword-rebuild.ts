/**
 * The keyword index half of a snapshot rebuild (docs/snapshot.md, "The keyword index"): claimed when the
 * rebuild takes the bot's slot, fed each page the rebuild reads (tokenised as it passes), written in bulk
 * and stamped with the version the rebuild published. Exact or absent: it is written only when the
 * commit re-read nothing (no stream change landed during the rebuild) and the snapshot is still the one
 * just published (version `<build>:0`, checked again atomically by the store's publish). Otherwise it
 * stays absent, and the next keyword query builds it from the snapshot.
 */
import { DEFAULT_TOKENISER, tokenise } from '../domain/keyword-text';
import type { StoredChunk } from '../domain/types';
import type { KeywordDocument, KeywordIndexStore, SnapshotStore } from './port';

type Warn = (message: string, extra: Record<string, unknown>) => void;

/** The keyword side of one rebuild. */
export type KeywordRebuild = {
  /** Tokenises the page's chunks the snapshot keeps (those of the rebuild's dimension, finite vectors). */
  add(page: readonly StoredChunk[]): void;
  /** Called with the chunks the commit re-reads (stream changes landed during the rebuild). */
  noteReread(chunkIds: readonly string[]): void;
  /** After the commit: writes and stamps the index when the rebuild published and nothing changed. */
  finish(published: boolean): Promise<boolean>;
};

function isFinite32(vector: Float32Array | number[]): boolean {
  for (let i = 0; i < vector.length; i++) if (!Number.isFinite(vector[i] as number)) return false;
  return true;
}

/**
 * Claims the keyword index of `botId` for the rebuild that just took the bot's slot; null when there is
 * no keyword store or the claim failed (the rebuild goes on without it).
 */
export async function keywordRebuild(
  keywords: KeywordIndexStore | undefined,
  snapshots: Pick<SnapshotStore, 'currentVersion'>,
  botId: string,
  dimension: number | undefined,
  warn: Warn,
): Promise<KeywordRebuild | null> {
  if (keywords === undefined) return null;
  let claim: string;
  try {
    claim = await keywords.claimBuild(botId);
  } catch (error) {
    warn('Keyword index not claimed for the rebuild; queries build it', { botId, error });
    return null;
  }
  const documents = new Map<string, KeywordDocument>();
  let changed = false;
  return {
    add(page) {
      for (const chunk of page) {
        if (dimension !== undefined && chunk.embedding.length !== dimension) continue;
        if (!isFinite32(chunk.embedding)) continue;
        documents.delete(chunk.chunk_id);
        documents.set(chunk.chunk_id, {
          chunkId: chunk.chunk_id,
          terms: tokenise(chunk.text ?? '', DEFAULT_TOKENISER),
        });
      }
    },
    noteReread(chunkIds) {
      if (chunkIds.length > 0) changed = true;
    },
    async finish(published) {
      try {
        // Stream changes re-read by the commit are in the snapshot, not in these terms: left absent.
        const current = published && !changed ? await snapshots.currentVersion(botId) : null;
        // `:0`: no stream change since the publish (the store checks the version again as it stamps).
        const version = current?.version.endsWith(':0') === true ? current.version : '';
        // An empty version never matches: the store then drops the claim (if still this one's), so
        // queries do not wait on a build that will not come.
        const docs = version === '' ? [] : [...documents.values()];
        documents.clear();
        return await keywords.publishBuild(botId, claim, version, docs);
      } catch (error) {
        warn('Keyword index not stored with the rebuild; queries build it', { botId, error });
        return false;
      } finally {
        documents.clear();
      }
    },
  };
}
