import fc from 'fast-check';
import { attributeBytes, itemBytes, numberBytes } from '../../src/contracts/dynamo-limits';
import { encodeEmbedding } from '../../src/domain/embedding-codec';

/**
 * DynamoDB's item size rules as DynamoDB Local applies them (test/integration/item-size.test.ts puts
 * random items to check the same sums against it).
 */
describe('DynamoDB item size', () => {
  it.each<[number, number]>([
    [0, 1],
    [1, 2],
    [15, 2],
    // Digits are paired from the decimal point: 1.5 spans "01" and "50".
    [1.5, 3],
    [0.5, 2],
    [0.05, 2],
    [0.012345, 4],
    [1500, 2],
    [150, 3],
    [1e-7, 2],
    [1.2e-7, 2],
    [1.2e-6, 3],
    [123456789, 6],
    // A negative number takes one terminating byte more.
    [-1, 3],
    [-1.5, 4],
    [-0.05, 3],
    [0.10000000149011612, 10],
    [-0.10000000149011612, 11],
    [Number.MAX_SAFE_INTEGER, 9],
  ])('counts %p as %i bytes', (n, bytes) => {
    expect(numberBytes(n)).toBe(bytes);
  });

  it('counts a float32 embedding stored as a list by each value, and as Binary by 4 bytes a value', () => {
    const embedding = Float32Array.from([0.25, -0.1, 1.5, -2]);
    const list = encodeEmbedding(embedding, 'list') as number[];

    expect(attributeBytes(list)).toBe(3 + list.reduce((sum, v) => sum + 1 + numberBytes(v), 0));
    expect(attributeBytes(encodeEmbedding(embedding, 'binary'))).toBe(16);
  });

  it('counts names and values of an item, with 3 bytes per map or list and 1 per element', () => {
    const item = { id: 'ab', m: { k: [true, null, 'é'] }, n: 10 };

    // id: 2 + 2; m: 1 + (3 + 1 + 1 + (3 + (1 + 1) + (1 + 1) + (1 + 2))); n: 1 + 2
    expect(itemBytes(item)).toBe(4 + 1 + 3 + 2 + 3 + 2 + 2 + 3 + 3);
  });

  it('never counts fewer bytes for a number than its digits in base-100 pairs need', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const digits =
          Math.abs(n)
            .toString()
            .split('e')[0]
            ?.replace('.', '')
            .replace(/^0+|0+$/g, '') ?? '';
        expect(numberBytes(n)).toBeGreaterThanOrEqual(1 + Math.ceil(digits.length / 2) - (n === 0 ? 1 : 0));
      }),
    );
  });
});
