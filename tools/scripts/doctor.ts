/**
 * npm run doctor -- --bot ID [--bot ID ...] | --all  [--repair [--skip-dead-letters]] [--replay-dead-letters] [--json]
 *
 * Recounts bots from VectorEmbeddings (consistent, paginated reads), compares BotCollections, BotDocuments
 * and the Redis snapshot (row by row) with it, and prints what differs (SNAPSHOT_MODE=memory: counts only,
 * and a repair makes every search container read the repaired bot again). --repair fixes it (safe while the
 * stream keeps writing); --replay-dead-letters first applies the stream's on-failure destination (the local
 * runner's JSONL file, or STREAM_DLQ_URL in AWS). --repair does that too, as the scheduled function does: a
 * recount does not claim the records a dead letter names, so replaying it after a repair would count them
 * twice. --skip-dead-letters repairs without it, and says so. Configuration comes from the same environment as the
 * handlers (TABLE_*, DYNAMODB_ENDPOINT, REDIS_URL); without DYNAMODB_ENDPOINT it finds a running `npm run dev`
 * by itself (tools/local/running-stack.ts), and it names the endpoints it uses. docs/doctor.md has the details.
 *
 * Exit codes: 0 all agree, 1 drift found (repaired or not), 2 error.
 */
import '../local/quiet-sdk-notice';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { ConfigError, NotFoundError } from '../../src/errors';
import type { BotReport, DoctorReport } from '../../src/use-cases/run-doctor';
import { runDoctor } from '../../src/use-cases/run-doctor';
import { closeBaseDeps, createBaseDeps } from '../../src/wiring/base';
import { doctorDeps, requireQueueUrl } from '../../src/wiring/doctor';
import { describeEndpoints, stackEnvironment } from '../local/running-stack';

const USAGE = `usage: npm run doctor -- (--bot ID ... | --all) [--repair [--skip-dead-letters]] [--replay-dead-letters] [--dead-letters FILE] [--json] [--settle-ms N]`;

type Options = {
  bots: string[] | 'all';
  repair: boolean;
  replay: boolean;
  /** --repair --skip-dead-letters: repaired without replaying the on-failure destination first. */
  skippedDeadLetters: boolean;
  deadLetters: string | undefined;
  json: boolean;
  settleMs: number | undefined;
};

function parse(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      bot: { type: 'string', multiple: true },
      all: { type: 'boolean', default: false },
      repair: { type: 'boolean', default: false },
      'replay-dead-letters': { type: 'boolean', default: false },
      'skip-dead-letters': { type: 'boolean', default: false },
      'dead-letters': { type: 'string' },
      json: { type: 'boolean', default: false },
      'settle-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const bots = values.bot ?? [];
  if (values.all === bots.length > 0)
    throw new UsageError('name the bots with --bot ID, or pass --all (one of the two)');
  if (values['skip-dead-letters'] && !values.repair)
    throw new UsageError(
      '--skip-dead-letters goes with --repair (without --repair nothing is replayed unless asked)',
    );
  if (values['skip-dead-letters'] && values['replay-dead-letters'])
    throw new UsageError('--skip-dead-letters and --replay-dead-letters contradict each other: pass one');
  const settle = values['settle-ms'];
  if (settle !== undefined && !/^\d+$/.test(settle)) throw new UsageError('--settle-ms takes milliseconds');
  return {
    bots: values.all ? 'all' : bots,
    repair: values.repair ?? false,
    // A repair replays first (unless told not to): see the file's header.
    replay:
      (values['replay-dead-letters'] ?? false) || (values.repair === true && !values['skip-dead-letters']),
    skippedDeadLetters: values['skip-dead-letters'] ?? false,
    deadLetters: values['dead-letters'],
    json: values.json ?? false,
    settleMs: settle === undefined ? undefined : Number(settle),
  };
}

class UsageError extends Error {}

function progressBar(enabled: boolean) {
  const started = performance.now();
  let last = 0;
  return (done: number, total: number) => {
    if (!enabled) return;
    const now = performance.now();
    if (done < total && now - last < 250) return;
    last = now;
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : undefined;
    const width = 24;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const line = `[doctor] [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} bots  ${rate.toFixed(1)} bots/s  ETA ${eta === undefined ? '?' : `${eta}s`}`;
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${done === total ? '\n' : ''}`);
    else if (done === total || done % 50 === 0) process.stderr.write(`${line}\n`);
  };
}

function describeBot(bot: BotReport): string[] {
  const lines: string[] = [];
  // Counted (they are the table's truth) but kept out of search: their writer has to fix or delete them.
  for (const { chunkId, reason } of bot.unusable.slice(0, 20)) {
    lines.push(`bot ${bot.botId}: chunk ${chunkId} is counted but cannot be searched: ${reason}`);
  }
  if (bot.unusable.length > 20) {
    lines.push(`bot ${bot.botId}: … ${bot.unusable.length - 20} more such chunk(s) (--json lists them all)`);
  }
  if (!bot.drift) return lines;
  lines.push(`bot ${bot.botId}: DRIFT`);
  if (bot.recorded.chunks !== bot.truth.chunks || bot.recorded.documents !== bot.truth.documents) {
    lines.push(
      `  BotCollections: total_chunks ${bot.recorded.chunks} (VectorEmbeddings: ${bot.truth.chunks}), total_documents ${bot.recorded.documents} (${bot.truth.documents})`,
    );
  }
  if (bot.totalsDrift !== null) {
    lines.push(
      `  totals differ from the sum of BotDocuments by ${bot.totalsDrift.chunks} chunks, ${bot.totalsDrift.documents} documents`,
    );
  }
  for (const doc of bot.documents) {
    lines.push(
      `  BotDocuments ${doc.filename}: chunk_count ${doc.recorded}, VectorEmbeddings holds ${doc.truth}`,
    );
  }
  const { missing, extra, different } = bot.snapshot;
  const sample = (ids: string[]) =>
    `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? `, … (${ids.length})` : ''}`;
  if (missing.length > 0) lines.push(`  snapshot lacks ${missing.length} chunk(s): ${sample(missing)}`);
  if (extra.length > 0) lines.push(`  snapshot serves ${extra.length} deleted chunk(s): ${sample(extra)}`);
  if (different.length > 0)
    lines.push(`  snapshot differs on ${different.length} chunk(s): ${sample(different)}`);
  if (bot.repair !== undefined) {
    const r = bot.repair;
    lines.push(
      `  repaired: ${r.documentsFixed} document(s), totals ${r.totalsFixed ? 'fixed' : 'unchanged'}, ${r.rowsFixed} snapshot row(s)` +
        (r.snapshotMarkedStale ? ', snapshot marked stale (readers rebuild it)' : '') +
        (r.heldCopiesReloaded ? ', data_version moved (search containers read the bot again)' : '') +
        (r.deferred > 0
          ? `; ${r.deferred} fix(es) deferred: the stream changed them meanwhile, run again`
          : ''),
    );
  }
  return lines;
}

function print(report: DoctorReport, options: Options, snapshotsSkipped: string | undefined): void {
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ ...report, snapshotsSkipped: snapshotsSkipped ?? null }, null, 2)}\n`,
    );
    return;
  }
  const out: string[] = [];
  if (snapshotsSkipped !== undefined) out.push(`snapshots not checked: ${snapshotsSkipped} (counts were)`);
  if (report.deadLetters !== undefined) {
    const d = report.deadLetters;
    out.push(
      `dead letters: ${d.letters} message(s), ${d.records} record(s) re-read, ${d.counted} counted now, ${d.removed} removed, ${d.kept} kept`,
    );
  }
  for (const bot of report.bots) out.push(...describeBot(bot));
  for (const { botId, error } of report.errors) out.push(`bot ${botId}: ERROR ${error}`);
  const agreed = report.bots.length - report.drifted;
  out.push(
    `${report.bots.length} bot(s) checked: ${agreed} agree, ${report.drifted} drifted${options.repair ? ` (${report.repaired} repaired)` : ''}, ${report.errors.length} error(s)` +
      (report.drifted > 0 && !options.repair ? ' — run again with --repair to fix' : ''),
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const stack = stackEnvironment();
  const config = loadConfig(stack.env);
  process.stderr.write(`${describeEndpoints('doctor', stack, config)}\n`);
  const wiring = await doctorDeps(
    createBaseDeps(config),
    options.settleMs === undefined ? {} : { settleMs: options.settleMs },
  );
  if (wiring.snapshotsSkipped !== undefined && !options.json) {
    process.stderr.write(`[doctor] snapshots not checked: ${wiring.snapshotsSkipped}; counts are\n`);
  }
  const log = {
    warn: (message: string, extra: Record<string, unknown>) =>
      process.stderr.write(`[doctor] ${message} ${JSON.stringify(extra)}\n`),
    error: (message: string, extra: Record<string, unknown>) =>
      process.stderr.write(`[doctor] ${message} ${JSON.stringify(extra)}\n`),
  };
  const queueUrl = stack.env.STREAM_DLQ_URL;
  const replay = !options.replay
    ? null
    : wiring.replay(
        queueUrl !== undefined && options.deadLetters === undefined
          ? { queueUrl: requireQueueUrl(queueUrl) }
          : { file: options.deadLetters ?? join(process.cwd(), '.local', 'stream-failures.jsonl') },
        log,
      );
  if (options.skippedDeadLetters) {
    process.stderr.write(
      '[doctor] dead letters not replayed (--skip-dead-letters): replaying them after this repair counts their records twice; delete them instead, or repair again after replaying\n',
    );
  }
  const report = await runDoctor(
    wiring.doctor,
    { bots: options.bots, repair: options.repair, replay },
    progressBar(options.bots === 'all' && !options.json),
  );
  print(report, options, wiring.snapshotsSkipped);
  closeBaseDeps(wiring.base);
  if (report.errors.length > 0) return 2;
  return report.drifted > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof NotFoundError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      known
        ? `doctor: ${message}\n`
        : `doctor: ${message}\n(start npm run dev, or check DYNAMODB_ENDPOINT / AWS credentials and the TABLE_* names; run with --help for usage)\n`,
    );
    process.exit(2);
  },
);
