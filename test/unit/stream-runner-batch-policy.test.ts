import {
  type BatchVerdict,
  judgeInvocation,
  type PendingBatch,
  planNextStep,
  splitExpired,
} from '../../tools/local/batch-policy';
import { resolveStreamSettings } from '../../tools/local/stream-settings';

const seqs = ['100', '200', '300', '400'];
const returned = (value: unknown) => ({ kind: 'returned' as const, value });
const neverExpired = () => false;

describe('judging an invocation like Lambda', () => {
  it('counts any return value as success when partial responses are not turned on', () => {
    const verdict = judgeInvocation(
      returned({ batchItemFailures: [{ itemIdentifier: '200' }] }),
      seqs,
      false,
    );
    expect(verdict).toEqual({ kind: 'success' });
  });

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['an empty object', {}],
    ['a null list', { batchItemFailures: null }],
    ['an empty list', { batchItemFailures: [] }],
  ])('counts %s as complete success', (_name, value) => {
    expect(judgeInvocation(returned(value), seqs, true)).toEqual({ kind: 'success' });
  });

  it('takes the lowest reported sequence number as the first failed record', () => {
    const verdict = judgeInvocation(
      returned({ batchItemFailures: [{ itemIdentifier: '400' }, { itemIdentifier: '200' }] }),
      seqs,
      true,
    );
    expect(verdict).toMatchObject({ kind: 'partial', failedFrom: 1 });
  });

  it.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a wrongly named key', { batchItemFailures: [{ itemId: '200' }] }],
    ['an id not in the batch', { batchItemFailures: [{ itemIdentifier: '250' }] }],
    ['a list that is not a list', { batchItemFailures: '200' }],
  ])('fails the whole batch for %s', (_name, value) => {
    expect(judgeInvocation(returned(value), seqs, true)).toMatchObject({
      kind: 'failure',
      functionError: false,
    });
  });

  it('fails the whole batch with a function error when the handler threw', () => {
    const verdict = judgeInvocation({ kind: 'threw', error: new TypeError('boom') }, seqs, true);
    expect(verdict).toEqual({
      kind: 'failure',
      reason: 'handler threw TypeError: boom',
      functionError: true,
    });
  });
});

describe('choosing the next step after an invocation', () => {
  const batch = (records: string[], retries = 0): PendingBatch<string> => ({
    records,
    retries,
    invocations: 1,
  });
  const failure: BatchVerdict = { kind: 'failure', reason: 'x', functionError: true };

  it('checkpoints the whole batch on success', () => {
    const step = planNextStep(batch(seqs), { kind: 'success' }, resolveStreamSettings(), neverExpired);
    expect(step).toMatchObject({ succeeded: seqs, next: [], failed: undefined, action: 'done' });
  });

  it('without bisect, checkpoints before the failed record and retries from it, counting a retry', () => {
    const settings = resolveStreamSettings({ maximumRetryAttempts: 3 });
    const step = planNextStep(
      batch(seqs),
      { kind: 'partial', failedFrom: 2, reason: '' },
      settings,
      neverExpired,
    );
    expect(step).toMatchObject({
      succeeded: ['100', '200'],
      next: [{ records: ['300', '400'], retries: 1 }],
      action: 'retry',
    });
  });

  it('with bisect, splits at the failed record without counting a retry', () => {
    const settings = resolveStreamSettings({ bisectBatchOnFunctionError: true, maximumRetryAttempts: 0 });
    const step = planNextStep(
      batch(seqs),
      { kind: 'partial', failedFrom: 1, reason: '' },
      settings,
      neverExpired,
    );
    expect(step).toMatchObject({
      succeeded: ['100'],
      next: [{ records: ['200', '300', '400'], retries: 0 }],
      action: 'split-at-failure',
    });
  });

  it('with bisect, halves a failed batch and retries each half, not counting the split as a retry', () => {
    const settings = resolveStreamSettings({ bisectBatchOnFunctionError: true, maximumRetryAttempts: 0 });
    const step = planNextStep(batch(['1', '2', '3', '4', '5']), failure, settings, neverExpired);
    expect(step.action).toBe('bisect');
    expect(step.next.map((b) => [b.records, b.retries])).toEqual([
      [['1', '2', '3'], 0],
      [['4', '5'], 0],
    ]);
  });

  it('with bisect, halves a batch whose first record was reported failed', () => {
    const settings = resolveStreamSettings({ bisectBatchOnFunctionError: true });
    const step = planNextStep(
      batch(seqs),
      { kind: 'partial', failedFrom: 0, reason: '' },
      settings,
      neverExpired,
    );
    expect(step.next.map((b) => b.records)).toEqual([
      ['100', '200'],
      ['300', '400'],
    ]);
  });

  it('retries a single failing record until maximumRetryAttempts, then gives it up', () => {
    const settings = resolveStreamSettings({ bisectBatchOnFunctionError: true, maximumRetryAttempts: 2 });
    expect(planNextStep(batch(['9'], 1), failure, settings, neverExpired)).toMatchObject({
      next: [{ records: ['9'], retries: 2 }],
      action: 'retry',
    });
    expect(planNextStep(batch(['9'], 2), failure, settings, neverExpired)).toMatchObject({
      next: [],
      failed: { batch: { records: ['9'] }, condition: 'RetryAttemptsExhausted' },
      action: 'give-up',
    });
  });

  it('retries forever when maximumRetryAttempts is -1', () => {
    const step = planNextStep(batch(['9'], 10_000), failure, resolveStreamSettings(), neverExpired);
    expect(step.action).toBe('retry');
  });

  it('gives up on records older than maximumRecordAgeInSeconds instead of retrying them', () => {
    const settings = resolveStreamSettings({ maximumRecordAgeInSeconds: 60 });
    const step = planNextStep(batch(seqs), failure, settings, () => true);
    expect(step.failed).toMatchObject({ condition: 'RecordAgeExceeded', batch: { records: seqs } });
  });
});

describe('records past their maximum age', () => {
  it('splits off the leading records older than the limit', () => {
    const now = 1_000_000;
    const created = [now - 120_000, now - 61_000, now - 59_000, now];
    const { expired, fresh } = splitExpired(created, (t) => t, 60, now);
    expect(expired).toEqual([now - 120_000, now - 61_000]);
    expect(fresh).toEqual([now - 59_000, now]);
  });

  it('keeps everything when there is no age limit', () => {
    expect(splitExpired([0, 1], (t) => t, -1, Date.now()).expired).toEqual([]);
  });
});
