import type { StoredChunk } from '../../src/domain/types';
import type { CountsDoctorStore, RecordedCounts, TrueDocument } from '../../src/ports';
import { type DoctorDeps, diagnoseBot, repairBot } from '../../src/use-cases/doctor';
import { FakeDocumentLeases } from '../fixtures/fake-ports';

/**
 * The doctor's use case over plain fakes: a bot whose VectorEmbeddings is a list of (chunk, filename),
 * whose BotCollections and BotDocuments are plain numbers, and whose conditioned writes behave as
 * DynamoDB's (refused when the compared value moved).
 */
class FakeStore implements CountsDoctorStore {
  chunks = new Map<string, string>();
  documents = new Map<string, number>();
  totals = { chunks: 0, documents: 0 };
  updatedAt = 'v0';
  epoch = 0;
  /** Called between the doctor's reads and its write: a stream change landing at the worst moment. */
  beforeWrite: (() => void) | undefined;

  /** What the stream handler does for an INSERT of a new chunk ('' : no filename, in no document). */
  streamInsert(chunkId: string, filename: string): void {
    this.chunks.set(chunkId, filename);
    if (filename === '') {
      this.totals.chunks += 1;
      this.updatedAt = `${this.updatedAt}+`;
      return;
    }
    const before = this.documents.get(filename) ?? 0;
    this.documents.set(filename, before + 1);
    this.totals.chunks += 1;
    if (before === 0) this.totals.documents += 1;
    this.updatedAt = `${this.updatedAt}+`;
  }

  async *bots(): AsyncIterable<string[]> {
    yield ['bot'];
  }

  async trueDocuments(): Promise<Map<string, TrueDocument>> {
    const result = new Map<string, TrueDocument>();
    for (const filename of this.chunks.values()) {
      const doc = result.get(filename) ?? { filename, chunks: 0, fileSize: 1, createdAt: 't' };
      doc.chunks += 1;
      result.set(filename, doc);
    }
    return result;
  }

  async recordedCounts(): Promise<RecordedCounts> {
    return {
      exists: true,
      totalChunks: this.totals.chunks,
      totalDocuments: this.totals.documents,
      snapshotEpoch: this.epoch,
      embeddingDimension: 4,
      updatedAt: this.updatedAt,
    };
  }

  async recordedDocuments(): Promise<Map<string, number>> {
    return new Map(this.documents);
  }

  async fixDocument(_botId: string, document: TrueDocument, expected: number): Promise<boolean> {
    this.beforeWrite?.();
    this.beforeWrite = undefined;
    if ((this.documents.get(document.filename) ?? 0) !== expected) return false;
    if (document.chunks === 0) this.documents.delete(document.filename);
    else this.documents.set(document.filename, document.chunks);
    this.totals.chunks += document.chunks - expected;
    this.totals.documents += (document.chunks > 0 ? 1 : 0) - (expected > 0 ? 1 : 0);
    this.updatedAt = `${this.updatedAt}d`;
    return true;
  }

  async fixTotals(
    _botId: string,
    delta: { chunks: number; documents: number },
    expectedUpdatedAt: string | undefined,
  ): Promise<boolean> {
    if (expectedUpdatedAt !== this.updatedAt) return false;
    this.totals.chunks += delta.chunks;
    this.totals.documents += delta.documents;
    this.updatedAt = `${this.updatedAt}t`;
    return true;
  }

  async bumpSnapshotEpoch(): Promise<void> {
    this.epoch += 1;
  }

  /** The bot's data_version, moved by the stream's counts writes and by `bumpDataVersion`. */
  dataVersion = 0;

  async bumpDataVersion(): Promise<void> {
    this.dataVersion += 1;
  }
}

/** A chunk as ChunkStore.readBot hands it out (text not read). */
const stored = (chunkId: string, embedding: number[], filename = 'a.pdf'): StoredChunk => ({
  bot_id: 'bot',
  chunk_id: chunkId,
  embedding: Float32Array.from(embedding),
  text: '',
  filename,
  file_size: 1,
  chunk_index: 0,
  created_at: 't',
  metadata: {},
});

/**
 * The doctor over `store`; `readable` are the chunks readBot decodes and `undecodable` those it hands to
 * onInvalid (with the decoder's message), as the DynamoDB chunk store does.
 */
function depsOver(
  store: FakeStore,
  readable: StoredChunk[] = [],
  undecodable: { chunkId: string; message: string }[] = [],
): DoctorDeps {
  const chunks: DoctorDeps['chunks'] = {
    async *readBot(_botId, options): AsyncIterable<StoredChunk[]> {
      for (const { chunkId, message } of undecodable) options.onInvalid?.(chunkId, new Error(message));
      yield readable;
    },
    async get() {
      return [];
    },
    async documentChunkKeys() {
      return [];
    },
    async delete() {},
  };
  const leases = new FakeDocumentLeases();
  return { store, chunks, leases, snapshots: null, settleMs: 0, sleep: async () => {} };
}

function botWith(documents: Record<string, number>): FakeStore {
  const store = new FakeStore();
  for (const [filename, count] of Object.entries(documents)) {
    for (let i = 0; i < count; i++) store.streamInsert(`${filename}#${i}`, filename);
  }
  return store;
}

describe('doctor (plain fakes)', () => {
  it('finds nothing when counts, documents and the recount agree', async () => {
    const store = botWith({ 'a.pdf': 3, 'b.pdf': 2 });
    const diagnosis = await diagnoseBot(depsOver(store), 'bot');
    expect(diagnosis).toMatchObject({ drift: false, documents: [], totalsDrift: null });
    expect(diagnosis.truth).toEqual({ chunks: 5, documents: 2 });
  });

  it('finds and repairs a count changed by hand', async () => {
    const store = botWith({ 'a.pdf': 3 });
    store.totals.chunks += 7;
    const deps = depsOver(store);
    const diagnosis = await diagnoseBot(deps, 'bot');
    expect(diagnosis.totalsDrift).toEqual({ chunks: -7, documents: 0 });
    const outcome = await repairBot(deps, diagnosis);
    expect(outcome).toMatchObject({ totalsFixed: true, deferred: 0 });
    expect(store.totals).toEqual({ chunks: 3, documents: 1 });
    expect((await diagnoseBot(deps, 'bot')).drift).toBe(false);
  });

  it('moves data_version after a repair in the memory snapshot mode, so every held copy is read again', async () => {
    const store = botWith({ 'a.pdf': 2 });
    store.chunks.set('lost#0', 'a.pdf');
    const memory: DoctorDeps = { ...depsOver(store), reloadHeldCopies: true };

    const outcome = await repairBot(memory, await diagnoseBot(memory, 'bot'));

    expect(outcome).toMatchObject({ documentsFixed: 1, heldCopiesReloaded: true, deferred: 0 });
    expect(store.dataVersion).toBe(1);
    expect((await diagnoseBot(memory, 'bot')).drift).toBe(false);
  });

  it('leaves data_version alone when a repair runs outside the memory snapshot mode', async () => {
    const store = botWith({ 'a.pdf': 2 });
    store.chunks.set('lost#0', 'a.pdf');
    const deps = depsOver(store);

    const outcome = await repairBot(deps, await diagnoseBot(deps, 'bot'));

    expect(outcome).toMatchObject({ documentsFixed: 1, heldCopiesReloaded: false });
    expect(store.dataVersion).toBe(0);
  });

  it('recreates a removed BotDocuments item and moves the totals with it', async () => {
    const store = botWith({ 'a.pdf': 3, 'b.pdf': 2 });
    store.documents.delete('b.pdf');
    const deps = depsOver(store);
    const diagnosis = await diagnoseBot(deps, 'bot');
    expect(diagnosis.documents).toEqual([{ filename: 'b.pdf', truth: 2, recorded: 0 }]);
    await repairBot(deps, diagnosis);
    expect(Object.fromEntries(store.documents)).toEqual({ 'a.pdf': 3, 'b.pdf': 2 });
    expect(store.totals).toEqual({ chunks: 5, documents: 2 });
  });

  it('counts a chunk whose record was lost, once', async () => {
    const store = botWith({ 'a.pdf': 2 });
    store.chunks.set('lost#0', 'a.pdf');
    const deps = depsOver(store);
    const diagnosis = await diagnoseBot(deps, 'bot');
    expect(diagnosis.documents).toEqual([{ filename: 'a.pdf', truth: 3, recorded: 2 }]);
    await repairBot(deps, diagnosis);
    await repairBot(deps, diagnosis);
    expect(store.totals).toEqual({ chunks: 3, documents: 1 });
  });

  it('defers a document fix when the stream changes that document between the check and the fix', async () => {
    const store = botWith({ 'a.pdf': 2 });
    store.documents.set('a.pdf', 1);
    store.totals.chunks -= 1;
    const deps = depsOver(store);
    const diagnosis = await diagnoseBot(deps, 'bot');
    // The stream counts a new chunk of a.pdf just before the doctor's write.
    store.beforeWrite = () => store.streamInsert('a.pdf#new', 'a.pdf');
    const outcome = await repairBot(deps, diagnosis);
    expect(outcome.deferred).toBeGreaterThan(0);
    // Nothing counted twice and nothing lost: the stream's insert stands, the drift is still the same one.
    expect(store.documents.get('a.pdf')).toBe(2);
    const again = await diagnoseBot(deps, 'bot');
    expect(again.documents).toEqual([{ filename: 'a.pdf', truth: 3, recorded: 2 }]);
    await repairBot(deps, again);
    expect(store.totals).toEqual({ chunks: 3, documents: 1 });
    expect((await diagnoseBot(deps, 'bot')).drift).toBe(false);
  });

  it('does not report a difference that the second look no longer sees (a change still in the stream)', async () => {
    const store = botWith({ 'a.pdf': 2 });
    // Written to VectorEmbeddings, its stream record not counted yet.
    store.chunks.set('a.pdf#9', 'a.pdf');
    const deps: DoctorDeps = {
      ...depsOver(store),
      sleep: async () => {
        store.chunks.delete('a.pdf#9');
        store.streamInsert('a.pdf#9', 'a.pdf');
      },
    };
    const diagnosis = await diagnoseBot(deps, 'bot');
    expect(diagnosis.drift).toBe(false);
    expect(store.totals).toEqual({ chunks: 3, documents: 1 });
  });

  it('counts a chunk without a filename in the total and in no document, and finds no drift', async () => {
    const store = botWith({ 'a.pdf': 2 });
    store.streamInsert('orphan', '');
    const deps = depsOver(store, [stored('a.pdf#0', [1, 0, 0, 0]), stored('a.pdf#1', [0, 1, 0, 0])]);

    const diagnosis = await diagnoseBot(deps, 'bot');

    expect(diagnosis).toMatchObject({ drift: false, documents: [], totalsDrift: null });
    expect(diagnosis.truth).toEqual({ chunks: 3, documents: 1 });
    const repair = await repairBot(deps, { ...diagnosis, drift: true });
    expect(repair).toMatchObject({ documentsFixed: 0, totalsFixed: false, deferred: 0 });
    expect(store.totals).toEqual({ chunks: 3, documents: 1 });
  });

  it('names each chunk it cannot use, with the reason, and goes on counting', async () => {
    const store = botWith({ 'a.pdf': 4 });
    const deps = depsOver(
      store,
      [stored('a.pdf#0', [1, 0, 0, 0]), stored('a.pdf#1', [1, 0, 0]), stored('a.pdf#2', [0, 0, 1, 0])],
      [{ chunkId: 'a.pdf#3', message: 'chunk a.pdf#3 embedding[0] is 1e+30; out of range' }],
    );

    const diagnosis = await diagnoseBot(deps, 'bot');

    expect(diagnosis.drift).toBe(false);
    expect(diagnosis.truth).toEqual({ chunks: 4, documents: 1 });
    expect(diagnosis.unusable).toEqual([
      { chunkId: 'a.pdf#1', reason: "embedding has 3 dimensions, the bot's is 4" },
      { chunkId: 'a.pdf#3', reason: 'chunk a.pdf#3 embedding[0] is 1e+30; out of range' },
    ]);
  });
});
