import { type BotDiagnosis, type DoctorDeps, diagnoseBot } from './doctor';

/** How many drifted documents and chunk ids a verdict names (the counts are always whole). */
const SHOWN = 20;

/** The doctor's verdict on one bot, as `GET /bots/{botId}/doctor` returns it. */
export type BotVerdict = {
  bot_id: string;
  /** Counts, documents and snapshot all agree with VectorEmbeddings. */
  healthy: boolean;
  recorded: { chunks: number; documents: number };
  truth: { chunks: number; documents: number };
  /** Documents whose recorded chunk count is not VectorEmbeddings' (the first 20). */
  drifted_documents: { filename: string; recorded: number; truth: number }[];
  drifted_documents_count: number;
  /** BotCollections' totals minus the sum of its documents, when they differ. */
  totals_drift: { chunks: number; documents: number } | null;
  snapshot: {
    state: BotDiagnosis['snapshot']['state'];
    missing: number;
    extra: number;
    different: number;
    /** Up to 20 chunk ids the snapshot lacks, serves wrongly or should not serve. */
    examples: string[];
  };
};

/**
 * The doctor's check of one bot, read-only: nothing is repaired (`npm run doctor -- --repair` and the
 * scheduled doctor do that). A difference is only drift when a second look `settleMs` later sees it too.
 */
export async function checkBot(deps: DoctorDeps, botId: string): Promise<BotVerdict> {
  const diagnosis = await diagnoseBot(deps, botId);
  const { snapshot } = diagnosis;
  return {
    bot_id: botId,
    healthy: !diagnosis.drift,
    recorded: { chunks: diagnosis.recorded.chunks, documents: diagnosis.recorded.documents },
    truth: diagnosis.truth,
    drifted_documents: diagnosis.documents.slice(0, SHOWN).map((d) => ({
      filename: d.filename,
      recorded: d.recorded,
      truth: d.truth,
    })),
    drifted_documents_count: diagnosis.documents.length,
    totals_drift: diagnosis.totalsDrift,
    snapshot: {
      state: snapshot.state,
      missing: snapshot.missing.length,
      extra: snapshot.extra.length,
      different: snapshot.different.length,
      examples: [...snapshot.missing, ...snapshot.different, ...snapshot.extra].slice(0, SHOWN),
    },
  };
}
