import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import definitions from '../../infra/tables.json';
import type { Config } from '../config';

/** The logical tables of infra/tables.json, the one definition shared with serverless.yml and LocalStack. */
export type TableKey =
  | 'VectorEmbeddings'
  | 'BotCollections'
  | 'BotDocuments'
  | 'DocumentLeases'
  | 'StreamClaims';
export const tableKeys: readonly TableKey[] = [
  'VectorEmbeddings',
  'BotCollections',
  'BotDocuments',
  'DocumentLeases',
  'StreamClaims',
];

export const FILENAME_INDEX = 'filename-index';

/** Which configured name each logical table is deployed under. */
export function tableNameFor(key: TableKey, names: Config['tables']): string {
  switch (key) {
    case 'VectorEmbeddings':
      return names.vectorEmbeddings;
    case 'BotCollections':
      return names.botCollections;
    case 'BotDocuments':
      return names.botDocuments;
    case 'DocumentLeases':
      return names.documentLeases;
    case 'StreamClaims':
      return names.streamClaims;
  }
}

/**
 * The CreateTable request for one logical table. The JSON file is CloudFormation-shaped
 * (`StreamSpecification` has no `StreamEnabled`), the API wants `StreamEnabled: true`.
 */
export function createTableInput(key: TableKey, tableName: string): CreateTableCommandInput {
  const definition = definitions[key];
  const input: CreateTableCommandInput = {
    TableName: tableName,
    AttributeDefinitions: definition.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: definition.KeySchema as CreateTableCommandInput['KeySchema'],
    BillingMode: definition.BillingMode as CreateTableCommandInput['BillingMode'],
  };
  if ('GlobalSecondaryIndexes' in definition) {
    input.GlobalSecondaryIndexes =
      definition.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'];
  }
  if ('StreamSpecification' in definition) {
    input.StreamSpecification = {
      StreamEnabled: true,
      StreamViewType: definition.StreamSpecification.StreamViewType as 'NEW_AND_OLD_IMAGES',
    };
  }
  return input;
}

/**
 * Creates every table that does not exist yet and waits until all are ACTIVE.
 * Idempotent: tables that already exist are left as they are.
 */
export async function ensureTables(
  client: DynamoDBClient,
  names: Config['tables'],
): Promise<{ created: string[]; existing: string[] }> {
  const created: string[] = [];
  const existing: string[] = [];
  for (const key of tableKeys) {
    const tableName = tableNameFor(key, names);
    try {
      await client.send(new CreateTableCommand(createTableInput(key, tableName)));
      created.push(tableName);
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      existing.push(tableName);
    }
    await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
    const ttl = timeToLiveOf(key);
    if (ttl !== undefined && created.includes(tableName)) {
      await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: ttl }));
    }
  }
  return { created, existing };
}

/** The table's TTL setting, if it has one (CreateTable cannot set it; UpdateTimeToLive does). */
export function timeToLiveOf(key: TableKey): { AttributeName: string; Enabled: boolean } | undefined {
  const definition = definitions[key];
  return 'TimeToLiveSpecification' in definition ? definition.TimeToLiveSpecification : undefined;
}
