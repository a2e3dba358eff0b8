import { readOnce } from '../../src/adapters/ssm/secure-string';

/** A plain fake of the parameter store: counts reads, answers with `answers` in turn. */
function fakeParameter(answers: Array<string | Error>) {
  const reader = {
    reads: 0,
    read: async () => {
      const answer = answers[Math.min(reader.reads, answers.length - 1)];
      reader.reads += 1;
      await Promise.resolve();
      if (answer instanceof Error) throw answer;
      return answer as string;
    },
  };
  return reader;
}

describe('the Redis password, read once per container', () => {
  it('reads the parameter once for many concurrent and later uses', async () => {
    const parameter = fakeParameter(['s3cret']);
    const password = readOnce(parameter.read);
    const first = await Promise.all(Array.from({ length: 50 }, () => password()));
    const later = await Promise.all(Array.from({ length: 50 }, () => password()));
    expect(new Set([...first, ...later])).toEqual(new Set(['s3cret']));
    expect(parameter.reads).toBe(1);
  });

  it('does not keep a failed read: the next use reads again, and that value is kept', async () => {
    const parameter = fakeParameter([new Error('AccessDeniedException'), 's3cret']);
    const password = readOnce(parameter.read);
    await expect(password()).rejects.toThrow('AccessDeniedException');
    expect(await password()).toBe('s3cret');
    expect(await password()).toBe('s3cret');
    expect(parameter.reads).toBe(2);
  });
});
