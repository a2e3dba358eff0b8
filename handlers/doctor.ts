import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { runDoctor } from '../src/use-cases/run-doctor';
import { baseDeps } from '../src/wiring/base';
import { type DoctorWiring, doctorDeps, requireQueueUrl } from '../src/wiring/doctor';

/** What a schedule (or a manual invoke) may ask; by default: every bot, repaired, dead letters replayed. */
const inputSchema = z
  .object({
    bots: z.array(z.string().min(1)).min(1).optional(),
    repair: z.boolean().default(true),
    replayDeadLetters: z.boolean().default(true),
  })
  .passthrough();

/**
 * The doctor as a scheduled Lambda function (serverless.yml: doctor): the same run as `npm run doctor`.
 * Publishes DoctorDriftFound, DoctorDriftRepaired and DoctorErrors; an alarm watches DoctorDriftFound.
 */
export const makeDoctorHandler =
  (deps: { wiring: () => Promise<DoctorWiring>; deadLetterQueueUrl: () => string | undefined }) =>
  async (event: unknown, context: Context) => {
    const input = inputSchema.parse(event ?? {});
    const wiring = await deps.wiring();
    const { logger, metrics } = wiring.base;
    logger.addContext(context);
    if (wiring.snapshotsSkipped !== undefined) {
      // The memory snapshot mode shares no snapshot: nothing is missing, so it is no warning there.
      if (wiring.base.config.snapshotMode === 'memory') {
        logger.info('Snapshots not checked; counts are', { reason: wiring.snapshotsSkipped });
      } else {
        logger.warn('Snapshots not checked; counts are', { reason: wiring.snapshotsSkipped });
      }
    }
    try {
      const queueUrl = deps.deadLetterQueueUrl();
      const replay =
        input.replayDeadLetters && queueUrl !== undefined
          ? wiring.replay({ queueUrl: requireQueueUrl(queueUrl) }, logger)
          : null;
      const report = await runDoctor(wiring.doctor, {
        bots: input.bots ?? 'all',
        repair: input.repair,
        replay,
      });
      metrics.addMetric('DoctorDriftFound', MetricUnit.Count, report.drifted);
      metrics.addMetric('DoctorDriftRepaired', MetricUnit.Count, report.repaired);
      metrics.addMetric('DoctorErrors', MetricUnit.Count, report.errors.length);
      metrics.addMetric('DoctorDeadLettersReplayed', MetricUnit.Count, report.deadLetters?.removed ?? 0);
      for (const bot of report.bots.filter((b) => b.drift)) {
        logger.warn('Drift found', {
          botId: bot.botId,
          truth: bot.truth,
          recorded: bot.recorded,
          documents: bot.documents.slice(0, 20),
          snapshot: {
            missing: bot.snapshot.missing.length,
            extra: bot.snapshot.extra.length,
            different: bot.snapshot.different.length,
          },
          repair: bot.repair,
        });
      }
      for (const failure of report.errors) logger.error('Bot not checked', failure);
      return {
        bots: report.bots.length,
        drifted: report.drifted,
        repaired: report.repaired,
        errors: report.errors.length,
        deadLetters: report.deadLetters ?? null,
      };
    } finally {
      metrics.publishStoredMetrics();
    }
  };

/** The container's: wiring from the environment, the dead-letter queue from STREAM_DLQ_URL (serverless.yml). */
export const handler = makeDoctorHandler({
  wiring: () => doctorDeps(baseDeps()),
  deadLetterQueueUrl: () => process.env.STREAM_DLQ_URL,
});
