import fc from 'fast-check';
import { compileFilter, type FilterableChunk, matchesFilter } from '../../src/domain/search-filter';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

type Step = { key: string } | { index: number } | { each: true };

/**
 * The reference reading of a payload path, written the plain way: the list of every value the path
 * reaches, level by level (a key step into an object, `[n]` one element, `[]` every element).
 */
function reachedValues(metadata: unknown, path: readonly Step[]): unknown[] {
  let current: unknown[] = [metadata];
  for (const step of path) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('key' in step) {
        if (
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.hasOwn(value, step.key)
        )
          next.push((value as Record<string, unknown>)[step.key]);
      } else if (Array.isArray(value)) {
        if ('each' in step) next.push(...value);
        else if (step.index < value.length) next.push(value[step.index]);
      }
    }
    current = next;
  }
  return current.filter((value) => value !== undefined);
}

/** What a condition tests: a reached list's elements, else the value (Qdrant's rule). */
const tested = (values: unknown[]) => values.flatMap((value) => (Array.isArray(value) ? value : [value]));

const keyText = (path: readonly Step[]) =>
  `metadata${path.map((step) => ('key' in step ? `.${step.key}` : 'each' in step ? '[]' : `[${step.index}]`)).join('')}`;

const scalar = fc.oneof(fc.constantFrom('x', 'y'), fc.integer({ min: 0, max: 3 }), fc.boolean());
const payload = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('a', 'b'), tie('value'), { maxKeys: 2 }),
  ),
})).value;
const path = fc
  .tuple(
    fc.constantFrom('a', 'b'),
    fc.array(
      fc.oneof(
        fc.constantFrom('a', 'b').map((key): Step => ({ key })),
        fc.integer({ min: 0, max: 2 }).map((index): Step => ({ index })),
        fc.constant<Step>({ each: true }),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([first, rest]): Step[] => [{ key: first }, ...rest]);

describe('filter conditions over metadata paths', () => {
  it('hold exactly when the plain reading of every reached value says so', () => {
    console.log(`filter paths property seed ${seed} (TEST_SEED replays it)`);
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'b'), payload, { maxKeys: 2 }),
        path,
        scalar,
        fc.integer({ min: 0, max: 3 }),
        (metadata, steps, value, bound) => {
          const chunk: FilterableChunk = {
            filename: 'f.md',
            metadata: metadata as FilterableChunk['metadata'],
          };
          const key = keyText(steps);
          const reached = reachedValues(metadata, steps);
          const expected = {
            match: tested(reached).some((v) => v === value),
            any: tested(reached).some((v) => v === value || v === 'y'),
            except: tested(reached).some(
              (v) =>
                (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && v !== value,
            ),
            range: tested(reached).some((v) => typeof v === 'number' && v >= bound),
            is_empty: reached.every((v) => v === null || (Array.isArray(v) && v.length === 0)),
            is_null: reached.some((v) => v === null),
          };
          const conditions = {
            match: { key, match: { value } },
            any: { key, match: { any: [value, 'y'] } },
            except: { key, match: { except: [value] } },
            range: { key, range: { gte: bound } },
            is_empty: { is_empty: { key } },
            is_null: { is_null: { key } },
          };
          for (const [name, condition] of Object.entries(conditions)) {
            const compiled = compileFilter({ must: [condition] });
            if (compiled === null) throw new Error(`${name} compiled to no filter`);
            expect([name, matchesFilter(chunk, compiled)]).toEqual([
              name,
              expected[name as keyof typeof expected],
            ]);
          }
        },
      ),
      { seed, numRuns: 500 },
    );
  });
});
