import type { FieldMap } from '../contracts/qdrant-field-map';
import { type BotSource, mapPoint, type PointId, type RejectedPoint } from '../contracts/qdrant-point';
import type { EmbeddingEncoding } from '../domain/embedding-codec';
import type { BotCollection, StoredChunk } from '../domain/types';
import { ConflictError, QdrantSourceError } from '../errors';
import type { BotAliases, BotRegistry, ChunkStore, QdrantSource, QdrantVectorParams } from '../ports';
import { type AliasCopy, copyQdrantAliases } from './copy-qdrant-aliases';

/**
 * Where a migration stands after its last fully written page: enough to resume it and to verify it at the
 * end. Plain JSON (point ids are kept as text), so the CLI can persist it as is.
 */
export type MigrationState = {
  collection: string;
  vector: string | null;
  bot: BotSource;
  /** The scroll offset to continue from; null before the first page. */
  offset: PointId | null;
  done: boolean;
  read: number;
  written: number;
  unchanged: number;
  rejected: number;
  /** Bots met so far, with the payload value that names each (for Qdrant's count filter). */
  bots: Record<string, { value: string | number | null; rejected: number }>;
};

export type MigrationProgress = {
  read: number;
  written: number;
  unchanged: number;
  rejected: number;
  /** The collection's points_count. */
  total: number;
};

export type MigrationDeps = {
  source: QdrantSource;
  bots: Pick<BotRegistry, 'get' | 'ensure'>;
  chunks: Pick<ChunkStore, 'put' | 'get' | 'botChunkIds'>;
  /** Where the collection's Qdrant aliases are copied to. */
  aliases: Pick<BotAliases, 'put'>;
  encoding: EmbeddingEncoding;
  now?: () => Date;
};

export type MigrationOptions = {
  collection: string;
  bot: BotSource;
  vectorName?: string;
  /**
   * The user the migrated bots belong to: new bots are created owned by them, and an existing bot must be
   * theirs or nobody's. Without it only bots nobody owns are written.
   */
  owner?: string;
  fieldMap: FieldMap;
  batch: number;
  dryRun: boolean;
  /** A state saved by an earlier run of the same migration, to continue from. */
  resume?: MigrationState;
  /** Called after each fully written page (persist it to resume from there; a dry run writes nothing). */
  onPage?: (state: MigrationState) => Promise<void>;
  onReject?: (rejected: RejectedPoint) => Promise<void>;
  onProgress?: (progress: MigrationProgress) => void;
};

/** One bot's chunk count against Qdrant's exact count. */
export type BotVerification = {
  botId: string;
  qdrantCount: number;
  rejected: number;
  /** Chunks the bot holds (null on a dry run, which writes nothing). */
  chunkCount: number | null;
  matches: boolean;
};

/** What one run did (a resumed run's state also counts the runs before it). */
export type RunCounts = { read: number; written: number; unchanged: number; rejected: number };

export type MigrationResult = {
  /** Where the migration stands, counting every run of it. */
  state: MigrationState;
  /** What this run read and wrote: nothing for a rerun from a finished resume file. */
  run: RunCounts;
  vector: QdrantVectorParams;
  bots: BotVerification[];
  /** The collection's Qdrant aliases, copied to the bot (`copyQdrantAliases`). */
  aliases: AliasCopy;
};

/**
 * The vector to migrate: the one named, or the collection's only one.
 * @throws QdrantSourceError naming the vectors there are, for an unknown or missing name.
 */
export function chooseVector(vectors: QdrantVectorParams[], name: string | undefined): QdrantVectorParams {
  const names = vectors.map((v) => (v.name === undefined ? '(unnamed)' : `"${v.name}"`)).join(', ');
  if (vectors.length === 0) {
    throw new QdrantSourceError('the collection has no dense vectors to migrate (only sparse ones, or none)');
  }
  if (name !== undefined) {
    const found = vectors.find((v) => v.name === name);
    if (found === undefined) {
      throw new QdrantSourceError(`the collection has no vector named "${name}"; it has ${names}`);
    }
    return found;
  }
  if (vectors.length > 1) {
    throw new QdrantSourceError(
      `the collection has several named vectors (${names}); choose one with --vector`,
    );
  }
  return vectors[0] as QdrantVectorParams;
}

/** JSON with object keys sorted: metadata as DynamoDB returns it may list keys in another order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function sameChunk(a: StoredChunk, b: StoredChunk): boolean {
  if (
    a.text !== b.text ||
    a.filename !== b.filename ||
    a.file_size !== b.file_size ||
    a.chunk_index !== b.chunk_index ||
    a.created_at !== b.created_at ||
    a.embedding.length !== b.embedding.length
  ) {
    return false;
  }
  for (let i = 0; i < a.embedding.length; i++) if (a.embedding[i] !== b.embedding[i]) return false;
  return canonicalJson(a.metadata) === canonicalJson(b.metadata);
}

/**
 * Copies a Qdrant collection into bots, page by page through scroll, through the ingestion write path's
 * validation and batched, retried writes. A chunk already stored exactly so is not written again (a rerun
 * changes nothing, and a point without a timestamp keeps the created_at it was first stored with). Each
 * bot's dimension must be the collection's; a missing bot is created with it. Ends by comparing each
 * bot's chunk count with Qdrant's exact count, then copies the collection's Qdrant aliases to the bot.
 * @throws QdrantSourceError when Qdrant cannot be read or the vector choice is wrong.
 * @throws ConflictError when an existing bot's embedding_dimension is not the collection's vector size.
 */
export async function migrateFromQdrant(
  deps: MigrationDeps,
  options: MigrationOptions,
): Promise<MigrationResult> {
  const info = await deps.source.info();
  const vector = chooseVector(info.vectors, options.vectorName);
  const runStartedAt = (deps.now?.() ?? new Date()).toISOString();
  const state: MigrationState = options.resume
    ? structuredClone(options.resume)
    : {
        collection: options.collection,
        vector: vector.name ?? null,
        bot: options.bot,
        offset: null,
        done: false,
        read: 0,
        written: 0,
        unchanged: 0,
        rejected: 0,
        bots: {},
      };
  const mapping = {
    fieldMap: options.fieldMap,
    bot: options.bot,
    vectorName: vector.name,
    dimension: vector.size,
    encoding: deps.encoding,
    defaultFilename: options.collection,
  };
  // Every bot the run will write is checked before its first write: a bot of another user, a deleted
  // one, or one of another dimension stops the run with nothing written.
  const targets =
    options.bot.kind === 'fixed' ? [options.bot.botId] : await payloadBots(deps.source, options, mapping);
  const problems: string[] = [];
  for (const botId of targets) {
    const problem = botProblem(await deps.bots.get(botId), botId, vector.size, options.owner);
    if (problem !== undefined) problems.push(problem);
  }
  if (problems.length > 0) {
    throw new ConflictError(
      `nothing was written: ${problems.length} bot(s) cannot take this migration: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; ...' : ''}`,
    );
  }
  const prepared = new Set<string>();
  const prepareBot = async (botId: string): Promise<void> => {
    if (prepared.has(botId)) return;
    if (!options.dryRun) {
      const bot = await deps.bots.ensure(botId, {
        embedding_dimension: vector.size,
        ...(options.owner === undefined ? {} : { user_id: options.owner }),
      });
      // Changed since the check (deleted meanwhile, or claimed by another user): stop before writing.
      const problem = botProblem(bot, botId, vector.size, options.owner);
      if (problem !== undefined) throw new ConflictError(problem);
    }
    prepared.add(botId);
  };
  if (options.bot.kind === 'fixed') {
    await prepareBot(options.bot.botId);
    state.bots[options.bot.botId] ??= { value: null, rejected: 0 };
  }

  const progress = () =>
    options.onProgress?.({
      read: state.read,
      written: state.written,
      unchanged: state.unchanged,
      rejected: state.rejected,
      total: info.pointsCount,
    });
  while (!state.done) {
    const page = await deps.source.scroll(state.offset, options.batch);
    const byBot = new Map<string, StoredChunk[]>();
    for (const point of page.points) {
      const mapped = mapPoint(point, mapping);
      const botId = mapped.kind === 'chunk' ? mapped.chunk.bot_id : mapped.botId;
      if (botId !== undefined && state.bots[botId] === undefined) {
        state.bots[botId] = { value: mapped.botValue ?? null, rejected: 0 };
      }
      if (mapped.kind === 'reject') {
        state.rejected++;
        if (botId !== undefined) (state.bots[botId] as { rejected: number }).rejected++;
        await options.onReject?.(mapped);
        continue;
      }
      const list = byBot.get(mapped.chunk.bot_id);
      if (list === undefined) byBot.set(mapped.chunk.bot_id, [mapped.chunk]);
      else list.push(mapped.chunk);
    }
    for (const [botId, chunks] of byBot) {
      await prepareBot(botId);
      const stored = await deps.chunks.get(
        botId,
        chunks.map((c) => c.chunk_id),
        { consistent: true },
      );
      const storedById = new Map(stored.map((c) => [c.chunk_id, c]));
      const changed: StoredChunk[] = [];
      for (const chunk of chunks) {
        const before = storedById.get(chunk.chunk_id);
        if (chunk.created_at === '') chunk.created_at = before?.created_at || runStartedAt;
        if (before !== undefined && sameChunk(before, chunk)) state.unchanged++;
        else changed.push(chunk);
      }
      if (!options.dryRun && changed.length > 0) await deps.chunks.put(changed);
      state.written += changed.length;
    }
    state.read += page.points.length;
    state.offset = page.next;
    state.done = page.next === null;
    await options.onPage?.(state);
    progress();
  }
  const earlier = options.resume;
  const run: RunCounts = {
    read: state.read - (earlier?.read ?? 0),
    written: state.written - (earlier?.written ?? 0),
    unchanged: state.unchanged - (earlier?.unchanged ?? 0),
    rejected: state.rejected - (earlier?.rejected ?? 0),
  };
  const bots = await verify(deps, options, state);
  const aliases = await copyQdrantAliases(deps, {
    bot: options.bot,
    dryRun: options.dryRun,
    ...(options.owner === undefined ? {} : { owner: options.owner }),
  });
  return { state, run, vector, bots, aliases };
}

/** Why the migration may not write into `bot`, or undefined when it may. */
function botProblem(
  bot: BotCollection | undefined,
  botId: string,
  dimension: number,
  owner: string | undefined,
): string | undefined {
  if (bot === undefined) return undefined;
  if (bot.status === 'deleting' || bot.status === 'deleted') {
    return `bot ${botId} was deleted (start it over with PUT /bots/${botId}: it starts empty, then migrate into it)`;
  }
  if (bot.user_id !== undefined && bot.user_id !== owner) {
    return owner === undefined
      ? `bot ${botId} has an owner (pass --owner with its owner's user id to migrate into it)`
      : `bot ${botId} belongs to another user than ${owner}`;
  }
  if (bot.embedding_dimension !== dimension) {
    return `bot ${botId} has embedding_dimension ${bot.embedding_dimension}, but the collection's vectors have ${dimension}; migrate into another bot, or delete this one first`;
  }
  return undefined;
}

/** The bots a payload-keyed migration writes: one pass over the collection's payloads (no vectors). */
async function payloadBots(
  source: QdrantSource,
  options: MigrationOptions,
  mapping: Parameters<typeof mapPoint>[1],
): Promise<string[]> {
  const bots = new Set<string>();
  let offset: PointId | null = options.resume?.offset ?? null;
  if (options.resume?.done) return Object.keys(options.resume.bots);
  for (const botId of Object.keys(options.resume?.bots ?? {})) bots.add(botId);
  do {
    const page = await source.scroll(offset, options.batch, { vectors: false });
    for (const point of page.points) {
      const mapped = mapPoint(point, mapping);
      const botId = mapped.kind === 'chunk' ? mapped.chunk.bot_id : mapped.botId;
      if (botId !== undefined) bots.add(botId);
    }
    offset = page.next;
  } while (offset !== null);
  return [...bots];
}

async function verify(
  deps: MigrationDeps,
  options: MigrationOptions,
  state: MigrationState,
): Promise<BotVerification[]> {
  const out: BotVerification[] = [];
  for (const [botId, seen] of Object.entries(state.bots)) {
    const qdrantCount =
      options.bot.kind === 'fixed'
        ? await deps.source.count()
        : await deps.source.count({ key: options.bot.key, value: seen.value ?? botId });
    let chunkCount: number | null = null;
    if (!options.dryRun) {
      chunkCount = 0;
      for await (const ids of deps.chunks.botChunkIds(botId)) chunkCount += ids.length;
    }
    out.push({
      botId,
      qdrantCount,
      rejected: seen.rejected,
      chunkCount,
      matches: chunkCount === null || chunkCount === qdrantCount - seen.rejected,
    });
  }
  return out;
}
