/**
 * Writes localstack/init/tables/<Table>.json: the `aws dynamodb create-table --cli-input-json` input of
 * each table, generated from infra/tables.json through the same createTableInput() the local bootstrap
 * uses, so LocalStack, DynamoDB Local and CloudFormation cannot drift apart.
 * test/unit/table-definition.test.ts fails when these files are stale.
 *
 * Usage: npx tsx tools/scripts/gen-localstack-tables.ts
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTableInput, tableKeys } from '../../src/tables/definition';

/** Where the init script (localstack/init/ready.d/) finds the table inputs. */
export const localstackTablesDir = join(__dirname, '..', '..', 'localstack', 'init', 'tables');

/** The file content for one table: its CreateTable input under its default name, pretty-printed. */
export function localstackTableJson(key: (typeof tableKeys)[number]): string {
  return `${JSON.stringify(createTableInput(key, key), null, 2)}\n`;
}

async function main(): Promise<void> {
  await mkdir(localstackTablesDir, { recursive: true });
  for (const key of tableKeys) {
    const path = join(localstackTablesDir, `${key}.json`);
    await writeFile(path, localstackTableJson(key));
    process.stdout.write(`wrote ${path}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
