import { DEV_EMBEDDING_DIMENSION, devEmbed, devTokens } from '../../src/domain/dev-embedder';

const cosine = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * (b[i] as number), 0);

describe('the development embedder', () => {
  it('returns a unit vector of 384 finite numbers', () => {
    const vector = devEmbed('DynamoDB Streams deliver every change to the table in order.');
    expect(vector).toHaveLength(DEV_EMBEDDING_DIMENSION);
    expect(vector.every(Number.isFinite)).toBe(true);
    expect(cosine(vector, vector)).toBeCloseTo(1, 10);
  });

  it('gives the same text the same vector every time', () => {
    expect(devEmbed('Redis keeps the snapshot in memory')).toEqual(
      devEmbed('Redis keeps the snapshot in memory'),
    );
  });

  it('scores a question closer to the passage that shares its words than to an unrelated one', () => {
    const question = devEmbed('How do DynamoDB streams retry a failed batch?');
    const related = devEmbed('A failed batch from a DynamoDB stream is retried, then bisected.');
    const unrelated = devEmbed('Knead the sourdough and let it rise overnight in a cool kitchen.');
    expect(cosine(question, related)).toBeGreaterThan(0.3);
    expect(cosine(question, related)).toBeGreaterThan(cosine(question, unrelated) + 0.2);
  });

  it('matches singular and plural forms and ignores case and stopwords', () => {
    expect(devTokens('The Streams of the TABLES')).toEqual(['stream', 'table']);
    expect(cosine(devEmbed('stream tables'), devEmbed('Streams of a table'))).toBeCloseTo(1, 10);
  });

  it('gives a text without content words a fixed unit vector instead of NaN', () => {
    const vector = devEmbed('the of and');
    expect(vector.every(Number.isFinite)).toBe(true);
    expect(cosine(vector, vector)).toBeCloseTo(1, 10);
  });

  it('honours another dimension', () => {
    expect(devEmbed('small vectors', 8)).toHaveLength(8);
  });
});
