import type { StreamChange } from './stream-change';
import { MAX_CLAIMS_PER_GROUP } from './stream-claims';

/** A document of a bot as BotDocuments holds it (an absent item is a document with no chunks). */
export type DocumentState = {
  chunkCount: number;
  fileSize: number;
  createdAt: string;
  /** When the document's latest written chunks expire (epoch seconds); absent when they never do. */
  expiresAt?: number | undefined;
};

/** A document a batch touched: its count before and after, and what its BotDocuments item becomes. */
export type DocumentOutcome = {
  filename: string;
  before: number;
  /** 0 means the document is gone: its BotDocuments item is deleted. */
  after: number;
  fileSize: number;
  createdAt: string;
  expiresAt: number | undefined;
};

export type CountDeltas = {
  /** Every document the changes touched, in the order first touched. */
  documents: DocumentOutcome[];
  totalChunksDelta: number;
  totalDocumentsDelta: number;
  /**
   * Documents that a change would have taken below zero chunks (a REMOVE of a chunk never counted). They
   * stop at zero; a non-empty list means the counts had drifted before this batch.
   */
  belowZero: string[];
};

type Working = {
  filename: string;
  before: number;
  count: number;
  fileSize: number;
  createdAt: string;
  expiresAt: number | undefined;
};

/**
 * The count changes implied by one bot's stream records, applied in order to the bot's current documents.
 * INSERT adds a chunk to its document, REMOVE takes one from the old image's document, MODIFY moves one
 * from the old image's document to the new image's (nothing when the filename did not change). A document
 * whose count reaches zero is gone; one that comes back takes created_at from the image that revived it.
 * total_chunks moves with the sum of the document counts plus the chunks that have no filename (they
 * belong to no document, so BotDocuments cannot hold them): it counts every item of the bot.
 *
 * @param changes one bot's records, oldest first, none of them counted yet
 * @param current the bot's documents before the changes, at least every filename the changes name
 * @param now ISO timestamp for documents whose images carry no created_at
 */
export function computeCountDeltas(
  changes: readonly StreamChange[],
  current: ReadonlyMap<string, DocumentState>,
  now: string,
): CountDeltas {
  const touched = new Map<string, Working>();
  const belowZero = new Set<string>();
  // Chunks with no filename: they count in total_chunks and in no document.
  let unfiledDelta = 0;
  const documentOf = (filename: string): Working => {
    let doc = touched.get(filename);
    if (doc === undefined) {
      const state = current.get(filename);
      const count = state?.chunkCount ?? 0;
      doc = {
        filename,
        before: count,
        count,
        fileSize: state?.fileSize ?? 0,
        createdAt: state?.createdAt ?? now,
        expiresAt: state?.expiresAt,
      };
      touched.set(filename, doc);
    }
    return doc;
  };
  const add = (image: NonNullable<StreamChange['newImage']>) => {
    if (image.filename === undefined) {
      unfiledDelta += 1;
      return;
    }
    const doc = documentOf(image.filename);
    if (doc.count === 0) doc.createdAt = image.createdAt ?? now;
    doc.count += 1;
    if (image.fileSize !== undefined) doc.fileSize = image.fileSize;
    // Like file_size, the document takes the expiry of the chunk written last (a version's chunks share one).
    doc.expiresAt = image.expiresAt;
  };
  const take = (image: NonNullable<StreamChange['oldImage']>) => {
    if (image.filename === undefined) {
      unfiledDelta -= 1;
      return;
    }
    const doc = documentOf(image.filename);
    if (doc.count === 0) {
      belowZero.add(image.filename);
      return;
    }
    doc.count -= 1;
  };

  for (const change of changes) {
    const { oldImage, newImage } = change;
    if (change.eventName === 'INSERT' && newImage !== undefined) {
      add(newImage);
    } else if (change.eventName === 'REMOVE' && oldImage !== undefined) {
      take(oldImage);
    } else if (change.eventName === 'MODIFY' && oldImage !== undefined && newImage !== undefined) {
      if (oldImage.filename === newImage.filename) {
        if (newImage.filename === undefined) continue;
        const doc = documentOf(newImage.filename);
        if (newImage.fileSize !== undefined) doc.fileSize = newImage.fileSize;
        doc.expiresAt = newImage.expiresAt;
      } else {
        take(oldImage);
        add(newImage);
      }
    }
  }

  let totalChunksDelta = unfiledDelta;
  let totalDocumentsDelta = 0;
  const documents: DocumentOutcome[] = [];
  for (const doc of touched.values()) {
    totalChunksDelta += doc.count - doc.before;
    totalDocumentsDelta += (doc.count > 0 ? 1 : 0) - (doc.before > 0 ? 1 : 0);
    documents.push({
      filename: doc.filename,
      before: doc.before,
      after: doc.count,
      fileSize: doc.fileSize,
      createdAt: doc.createdAt,
      expiresAt: doc.expiresAt,
    });
  }
  return { documents, totalChunksDelta, totalDocumentsDelta, belowZero: [...belowZero] };
}

/** The documents one record touches (none for a chunk without filename, two for a MODIFY that moves one). */
export function filenamesOf(change: StreamChange): string[] {
  const names = new Set<string>();
  if (change.oldImage?.filename !== undefined) names.add(change.oldImage.filename);
  if (change.newImage?.filename !== undefined) names.add(change.newImage.filename);
  return [...names];
}

/**
 * Cuts one bot's records into consecutive runs whose counts each fit one TransactWriteItems of at most
 * `maxActions` actions: the bot's item, one per document the run touches, one per claim item its records
 * belong to (`stream-claims.ts`), which takes at most `MAX_CLAIMS_PER_GROUP` of them. A batch of 100
 * records of one bot created within one second therefore takes one transaction of three actions per
 * document count: the bot, the document, the claim.
 */
export function splitByActionLimit(changes: readonly StreamChange[], maxActions = 100): StreamChange[][] {
  if (maxActions < 4) throw new RangeError('maxActions must be at least 4 (bot, two documents, one claim)');
  const runs: StreamChange[][] = [];
  let run: StreamChange[] = [];
  let names = new Set<string>();
  let buckets = new Map<string, number>();
  for (const change of changes) {
    const added = filenamesOf(change).filter((name) => !names.has(name));
    const inBucket = buckets.get(change.claimBucket);
    const actions = 1 + names.size + added.length + buckets.size + (inBucket === undefined ? 1 : 0);
    if (run.length > 0 && (actions > maxActions || (inBucket ?? 0) >= MAX_CLAIMS_PER_GROUP)) {
      runs.push(run);
      run = [];
      names = new Set();
      buckets = new Map();
    }
    run.push(change);
    for (const name of filenamesOf(change)) names.add(name);
    buckets.set(change.claimBucket, (buckets.get(change.claimBucket) ?? 0) + 1);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
