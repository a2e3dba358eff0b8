import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import definitions from '../../infra/tables.json';
import {
  createTableInput,
  FILENAME_INDEX,
  OWNER_INDEX,
  type TableKey,
  tableKeys,
} from '../../src/tables/definition';
import { localstackTableJson } from '../../tools/scripts/gen-localstack-tables';

/**
 * infra/tables.json is the one table definition. serverless.yml's resources, the local bootstrap
 * (createTableInput / ensureTables) and LocalStack's create-table inputs must all be read from it.
 * (test/package/serverless-package.test.ts checks the resolved CloudFormation; the LocalStack init test runs
 * the inputs against DynamoDB Local.)
 */
const root = join(__dirname, '..', '..');

type TableResource = { Type: string; Properties: Record<string, unknown> };
const serverless = YAML.parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), {
  // CloudFormation short-form tags (!GetAtt) are irrelevant here; parse them as plain values.
  logLevel: 'silent',
}) as { resources: { Resources: Record<string, TableResource> } };

const tableResources = Object.entries(serverless.resources.Resources).filter(
  ([, r]) => r.Type === 'AWS::DynamoDB::Table',
);

const definedKeys = Object.keys(definitions).filter((k) => !k.startsWith('$')) as TableKey[];

describe('the table definition', () => {
  it('lists the same tables in infra/tables.json and in the code that creates them', () => {
    expect([...definedKeys].sort()).toEqual([...tableKeys].sort());
  });

  describe('serverless.yml', () => {
    it('declares one table resource per defined table', () => {
      expect(tableResources.map(([id]) => id).sort()).toEqual(definedKeys.map((k) => `${k}Table`).sort());
    });

    it.each(definedKeys)('reads every schema property of %s from infra/tables.json', (key) => {
      const table = serverless.resources.Resources[`${key}Table`] as TableResource;
      const definition = definitions[key] as Record<string, unknown>;
      const schemaProperties = Object.keys(definition);
      for (const property of schemaProperties) {
        expect({ property, value: table.Properties[property] }).toEqual({
          property,
          value: `\${file(./infra/tables.json):${key}.${property}}`,
        });
      }
      // Nothing about keys, indexes, streams or billing written by hand next to the definition.
      for (const property of [
        'KeySchema',
        'AttributeDefinitions',
        'GlobalSecondaryIndexes',
        'StreamSpecification',
        'BillingMode',
      ]) {
        if (!schemaProperties.includes(property)) expect(table.Properties).not.toHaveProperty(property);
      }
    });
  });

  describe('createTableInput (local bootstrap)', () => {
    it.each(definedKeys)('creates %s with the defined keys, attributes and billing', (key) => {
      const input = createTableInput(key, `${key}-test`);
      const definition = definitions[key];
      expect(input.TableName).toBe(`${key}-test`);
      expect(input.KeySchema).toEqual(definition.KeySchema);
      expect(input.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
      expect(input.BillingMode).toBe(definition.BillingMode);
    });

    it('gives VectorEmbeddings the filename-index projecting what its readers use and an enabled NEW_AND_OLD_IMAGES stream', () => {
      const input = createTableInput('VectorEmbeddings', 'VectorEmbeddings');
      expect(input.GlobalSecondaryIndexes).toEqual(definitions.VectorEmbeddings.GlobalSecondaryIndexes);
      expect(input.GlobalSecondaryIndexes?.[0]?.IndexName).toBe(FILENAME_INDEX);
      // ChunkStore.documentChunkKeys reads chunk_id, chunk_index, created_at; a document listing reads
      // filename, file_size, created_at. Keys are always projected.
      expect(input.GlobalSecondaryIndexes?.[0]?.Projection).toEqual({
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: ['chunk_index', 'file_size', 'created_at'],
      });
      expect(input.StreamSpecification).toEqual({
        StreamEnabled: true,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      });
    });

    it('gives BotCollections the owner-index (user_id, bot_id), keys only, and no stream', () => {
      const input = createTableInput('BotCollections', 'BotCollections');
      expect(input.GlobalSecondaryIndexes).toEqual([
        {
          IndexName: OWNER_INDEX,
          KeySchema: [
            { AttributeName: 'user_id', KeyType: 'HASH' },
            { AttributeName: 'bot_id', KeyType: 'RANGE' },
          ],
          // Counts change on every stream batch; keys only keeps those writes off the index.
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]);
      expect(input.AttributeDefinitions).toContainEqual({ AttributeName: 'user_id', AttributeType: 'S' });
      expect(input.StreamSpecification).toBeUndefined();
    });

    it('creates BotDocuments without an index or a stream', () => {
      const input = createTableInput('BotDocuments', 'BotDocuments');
      expect(input.GlobalSecondaryIndexes).toBeUndefined();
      expect(input.StreamSpecification).toBeUndefined();
    });
  });

  describe('LocalStack create-table inputs', () => {
    it.each(definedKeys)(
      'localstack/init/tables/%s.json is what tools/scripts/gen-localstack-tables.ts generates now',
      (key) => {
        const checkedIn = readFileSync(join(root, 'localstack', 'init', 'tables', `${key}.json`), 'utf8');
        // Stale? Run: npx tsx tools/scripts/gen-localstack-tables.ts
        expect(JSON.parse(checkedIn)).toEqual(JSON.parse(localstackTableJson(key)));
        expect(JSON.parse(checkedIn)).toEqual(createTableInput(key, key));
      },
    );

    it('creates every defined table in the init script', () => {
      const script = readFileSync(join(root, 'localstack', 'init', 'ready.d', '10-create-tables.sh'), 'utf8');
      for (const key of definedKeys) expect(script).toMatch(new RegExp(`^create_table ${key} `, 'm'));
    });
  });
});
