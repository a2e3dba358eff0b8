import { NotFoundError } from '../errors';
import { mapLimited } from '../machinery/pool';
import { type BotDiagnosis, type DoctorDeps, diagnoseBot, type RepairOutcome, repairBot } from './doctor';
import { type ReplayDeps, type ReplayReport, replayDeadLetters } from './replay-dead-letters';

export type DoctorRun = {
  /** Bot ids, or 'all' for every bot in BotCollections. */
  bots: string[] | 'all';
  repair: boolean;
  /** null: do not touch the on-failure destination. */
  replay: ReplayDeps | null;
  /** Bots checked at the same time with --all. */
  concurrency?: number;
};

export type BotReport = BotDiagnosis & { repair?: RepairOutcome };

export type DoctorReport = {
  bots: BotReport[];
  /** Bots whose check failed, with what went wrong. */
  errors: { botId: string; error: string }[];
  drifted: number;
  repaired: number;
  deadLetters?: ReplayReport;
};

export type DoctorProgress = (done: number, total: number) => void;

/**
 * The doctor as one run (shared by `npm run doctor` and the scheduled Lambda function): dead letters first
 * (their records are counted exactly once through the claims, so a recount afterwards sees them), then
 * each bot diagnosed and, with `repair`, repaired.
 * @throws NotFoundError for a named bot that is neither in BotCollections nor in VectorEmbeddings
 */
export async function runDoctor(
  deps: DoctorDeps,
  run: DoctorRun,
  progress: DoctorProgress = () => {},
): Promise<DoctorReport> {
  const report: DoctorReport = { bots: [], errors: [], drifted: 0, repaired: 0 };
  if (run.replay !== null) report.deadLetters = await replayDeadLetters(run.replay);
  let botIds: string[];
  if (run.bots === 'all') {
    botIds = [];
    for await (const page of deps.store.bots()) botIds.push(...page);
  } else {
    botIds = run.bots;
    for (const botId of botIds) {
      const recorded = await deps.store.recordedCounts(botId);
      if (!recorded.exists && (await deps.store.trueDocuments(botId)).size === 0) {
        throw new NotFoundError(
          `bot ${botId} is not in BotCollections and has no chunks in VectorEmbeddings`,
        );
      }
    }
  }
  let done = 0;
  progress(0, botIds.length);
  await mapLimited(botIds, run.concurrency ?? 4, async (botId) => {
    try {
      const diagnosis = await diagnoseBot(deps, botId);
      const entry: BotReport = diagnosis;
      if (diagnosis.drift) {
        report.drifted += 1;
        if (run.repair) {
          entry.repair = await repairBot(deps, diagnosis);
          if (entry.repair.deferred === 0) report.repaired += 1;
        }
      }
      report.bots.push(entry);
    } catch (error) {
      report.errors.push({ botId, error: error instanceof Error ? error.message : String(error) });
    }
    done += 1;
    progress(done, botIds.length);
  });
  report.bots.sort((a, b) => (a.botId < b.botId ? -1 : 1));
  return report;
}
