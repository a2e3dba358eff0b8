/**
 * `npm run migrate:qdrant -- --url http://host:6333 --collection NAME (--bot ID | --bot-from-payload KEY)
 *   [--owner USER_ID] [--api-key KEY] [--vector NAME] [--batch 256] [--field-map text=page_content,...] [--dry-run]
 *   [--resume FILE] [--rejects FILE]`
 *
 * Copies a Qdrant collection into bots through the ingestion write path (see
 * src/use-cases/migrate-from-qdrant.ts), with progress, a resume file, a rejects file and a final exact
 * count comparison. Without DYNAMODB_ENDPOINT it writes to a running `npm run dev` when there is one, and it
 * names the endpoints it uses. Exit codes: 0 done and counts match, 1 a count mismatch, 2 bad arguments or an error.
 */
import '../local/quiet-sdk-notice';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynamoBotAliases } from '../../src/adapters/dynamodb/bot-aliases';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { QdrantCollectionReader } from '../../src/adapters/qdrant/collection-reader';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { parseFieldMap } from '../../src/contracts/qdrant-field-map';
import type { BotSource, RejectedPoint } from '../../src/contracts/qdrant-point';
import {
  type MigrationProgress,
  type MigrationState,
  migrateFromQdrant,
} from '../../src/use-cases/migrate-from-qdrant';
import { describeEndpoints, stackEnvironment } from '../local/running-stack';

const USAGE = `usage: npm run migrate:qdrant -- --url http://host:6333 --collection NAME
  (--bot ID | --bot-from-payload KEY) [--owner USER_ID] [--api-key KEY] [--vector NAME] [--batch 256]
  [--field-map text=page_content,filename=metadata.source,...] [--dry-run] [--resume FILE]
  [--rejects FILE]`;

class UsageError extends Error {}

function parseCommandLine(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      collection: { type: 'string' },
      bot: { type: 'string' },
      'bot-from-payload': { type: 'string' },
      owner: { type: 'string' },
      'api-key': { type: 'string' },
      vector: { type: 'string' },
      batch: { type: 'string', default: '256' },
      'field-map': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      resume: { type: 'string' },
      rejects: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (values.url === undefined || values.collection === undefined) {
    throw new UsageError('--url and --collection are required');
  }
  if ((values.bot === undefined) === (values['bot-from-payload'] === undefined)) {
    throw new UsageError('give exactly one of --bot ID or --bot-from-payload KEY');
  }
  const batch = Number(values.batch);
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 10_000) {
    throw new UsageError(`--batch must be an integer from 1 to 10000; got ${values.batch}`);
  }
  const bot: BotSource =
    values.bot !== undefined
      ? { kind: 'fixed', botId: values.bot }
      : { kind: 'payload', key: values['bot-from-payload'] as string };
  return {
    url: values.url,
    collection: values.collection,
    apiKey: values['api-key'] ?? process.env.QDRANT_API_KEY,
    owner: values.owner,
    vector: values.vector,
    batch,
    fieldMap: parseFieldMap(values['field-map']),
    dryRun: values['dry-run'],
    resume: values.resume,
    rejects: values.rejects ?? `${values.collection.replace(/[^\w.-]/g, '_')}.rejects.jsonl`,
    bot,
  };
}

/** Reads a resume file written by an earlier run of the same migration; undefined when there is none. */
function readResumeFile(path: string, args: ReturnType<typeof parseCommandLine>): MigrationState | undefined {
  if (!existsSync(path)) return undefined;
  const state = JSON.parse(readFileSync(path, 'utf8')) as MigrationState;
  const same =
    state.collection === args.collection &&
    (state.vector ?? undefined) === args.vector &&
    JSON.stringify(state.bot) === JSON.stringify(args.bot);
  if (!same) {
    throw new UsageError(
      `${path} belongs to another migration (collection ${state.collection}, vector ${state.vector ?? '-'}, bot ${JSON.stringify(state.bot)}); use another --resume file`,
    );
  }
  return state;
}

/** Written to a temporary file and renamed, so a kill never leaves half a resume file. */
function writeResumeFile(path: string, state: MigrationState): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

const thousands = (n: number) => n.toLocaleString('en-US');

function progressPrinter(resumedAt: number): (p: MigrationProgress) => void {
  const started = Date.now();
  let lastLine = 0;
  return (p) => {
    const now = Date.now();
    const done = p.read >= p.total;
    // A terminal line is redrawn in place each second; a log gets a line every 5 s.
    if (!done && now - lastLine < (process.stderr.isTTY ? 1000 : 5000)) return;
    lastLine = now;
    const seconds = Math.max((now - started) / 1000, 1e-3);
    const rate = (p.read - resumedAt) / seconds;
    const left = Math.max(p.total - p.read, 0);
    const eta = rate > 0 ? `${Math.ceil(left / rate)} s` : '?';
    const percent = p.total > 0 ? ((100 * p.read) / p.total).toFixed(1) : '100.0';
    const line = `read ${thousands(p.read)}/${thousands(p.total)} (${percent}%)  written ${thousands(p.written)}  unchanged ${thousands(p.unchanged)}  rejected ${thousands(p.rejected)}  ${Math.round(rate)} points/s  ETA ${eta}`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}\u001b[K${done ? '\n' : ''}` : `${line}\n`);
  };
}

async function main(): Promise<number> {
  const args = parseCommandLine(process.argv.slice(2));
  const resume = args.resume === undefined ? undefined : readResumeFile(args.resume, args);
  // A fresh run starts a fresh rejects file; a resumed one adds to it. None is made while nothing is rejected.
  if ((resume === undefined || args.dryRun) && existsSync(args.rejects)) writeFileSync(args.rejects, '');
  const stack = stackEnvironment();
  const config = loadConfig(stack.env);
  process.stderr.write(`${describeEndpoints('migrate:qdrant', stack, config)}\n`);
  const dynamodb = createDynamoDbClient(config);
  const documents = createDocumentClient(dynamodb);
  const pendingRejects: RejectedPoint[] = [];
  const flushRejects = () => {
    if (pendingRejects.length === 0) return;
    appendFileSync(
      args.rejects,
      pendingRejects
        .map((r) => `${JSON.stringify({ id: r.id, bot_id: r.botId ?? null, reason: r.reason })}\n`)
        .join(''),
    );
    pendingRejects.length = 0;
  };
  try {
    if (resume?.done) process.stderr.write(`${args.resume} says this migration finished; verifying only\n`);
    else if (resume !== undefined) process.stderr.write(`resuming after ${resume.read} points\n`);
    const result = await migrateFromQdrant(
      {
        source: new QdrantCollectionReader({
          url: args.url,
          collection: args.collection,
          ...(args.apiKey === undefined ? {} : { apiKey: args.apiKey }),
        }),
        bots: new DynamoBotRegistry(documents, {
          table: config.tables.botCollections,
          defaultEmbeddingDimension: config.defaultEmbeddingDimension,
        }),
        chunks: new DynamoChunkStore(documents, {
          table: config.tables.vectorEmbeddings,
          embeddingEncoding: config.embeddingEncoding,
        }),
        aliases: new DynamoBotAliases(documents, config.tables.botAliases),
        encoding: config.embeddingEncoding,
      },
      {
        collection: args.collection,
        bot: args.bot,
        ...(args.owner === undefined ? {} : { owner: args.owner }),
        ...(args.vector === undefined ? {} : { vectorName: args.vector }),
        fieldMap: args.fieldMap,
        batch: args.batch,
        dryRun: args.dryRun,
        ...(resume === undefined ? {} : { resume }),
        onReject: async (rejected) => {
          pendingRejects.push(rejected);
        },
        // Rejects first, then the offset: a kill between the two re-reads the page, never loses a line.
        onPage: async (state) => {
          flushRejects();
          if (args.resume !== undefined && !args.dryRun) writeResumeFile(args.resume, state);
        },
        onProgress: progressPrinter(resume?.read ?? 0),
      },
    );
    flushRejects();
    const { state, run, vector, bots, aliases } = result;
    const say = (line: string) => process.stdout.write(`${line}\n`);
    say(
      `${args.dryRun ? 'dry run (nothing written): ' : ''}collection ${args.collection}, vector ${vector.name ?? '(unnamed)'} (${vector.size}-d, ${vector.distance})`,
    );
    if (vector.distance !== 'Cosine') {
      say(`note: the collection uses ${vector.distance} distance; search here ranks by cosine similarity`);
    }
    say(
      `points read ${thousands(run.read)}, ${args.dryRun ? 'would write' : 'written'} ${thousands(run.written)}, unchanged ${thousands(run.unchanged)}, rejected ${thousands(run.rejected)}${run.rejected > 0 ? ` (see ${args.rejects})` : ''}`,
    );
    if (resume !== undefined) {
      say(
        `earlier runs (from ${args.resume}): read ${thousands(state.read - run.read)}, written ${thousands(state.written - run.written)}, unchanged ${thousands(state.unchanged - run.unchanged)}, rejected ${thousands(state.rejected - run.rejected)}`,
      );
    }
    say('bot\tqdrant count\trejected\tchunks here\tresult');
    for (const bot of bots) {
      const here = bot.chunkCount === null ? '-' : thousands(bot.chunkCount);
      say(
        `${bot.botId}\t${thousands(bot.qdrantCount)}\t${thousands(bot.rejected)}\t${here}\t${bot.matches ? 'ok' : 'MISMATCH'}`,
      );
    }
    if (aliases.copied.length > 0) {
      say(`aliases ${args.dryRun ? 'to copy' : 'copied'}: ${aliases.copied.join(', ')}`);
    }
    for (const skipped of aliases.skipped) say(`alias ${skipped.alias} not copied: ${skipped.reason}`);
    const mismatched = bots.filter((bot) => !bot.matches);
    if (mismatched.length > 0) {
      say(
        `count mismatch for ${mismatched.map((b) => b.botId).join(', ')}: a bot's chunks should equal Qdrant's count minus the rejected points. More chunks here means the bot also holds chunks from elsewhere; fewer means points were added to or changed in Qdrant during the run: run again to copy them.`,
      );
      return 1;
    }
    return 0;
  } finally {
    dynamodb.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`\nmigrate:qdrant: ${message}\n`);
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${USAGE}\n`);
    }
    process.exitCode = 2;
  },
);
