import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import definitions from '../../infra/tables.json';
import { tableKeys } from '../../src/tables/definition';
import { parseServerlessYaml } from '../../tools/local/stream-settings';
import {
  actionsOf,
  elfMachine,
  PACKAGE_TIMEOUT_MS,
  packageInto,
  type Resource,
  resourcesOf,
  root,
  SEARCH_FUNCTIONS,
  type Statement,
  statementsOf,
  USEARCH_BINARY,
  zipEntries,
  zipFiles,
} from './serverless-cli';

// Runs `serverless package --stage dev` (offline: no AWS credentials, no network) into a temp dir and
// checks the CloudFormation it generates. Packaging bundles every function with esbuild: 20-60 s here.
let outDir: string;
let resources: Record<string, Resource>;
let artifacts: string[];

function resource(logicalId: string): Resource {
  const found = resources[logicalId];
  if (found === undefined) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function functionByHandler(handler: string): [string, Resource] {
  const found = ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.Handler === handler);
  if (found === undefined) throw new Error(`no function with handler ${handler}`);
  return found;
}

beforeAll(async () => {
  outDir = await packageInto('sls-package-');
  const template = JSON.parse(
    await readFile(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  );
  resources = template.Resources;
  artifacts = await readdir(outDir);
}, PACKAGE_TIMEOUT_MS);

afterAll(async () => {
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

describe('serverless package --stage dev', () => {
  describe('tables', () => {
    it.each(tableKeys.map((key) => [`${key}Table`, key, `${key}-dev`] as const))(
      '%s has the keys and billing of infra/tables.json, named per stage',
      (logicalId, key, name) => {
        const table = resource(logicalId);
        const definition = definitions[key];
        expect(table.Type).toBe('AWS::DynamoDB::Table');
        expect(table.Properties.TableName).toBe(name);
        expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
        expect(table.Properties.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
        expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      },
    );

    it('gives VectorEmbeddings the filename-index GSI projecting what its readers use and a NEW_AND_OLD_IMAGES stream', () => {
      const table = resource('VectorEmbeddingsTable').Properties;
      expect(table.GlobalSecondaryIndexes).toEqual([
        {
          IndexName: 'filename-index',
          KeySchema: [
            { AttributeName: 'bot_id', KeyType: 'HASH' },
            { AttributeName: 'filename', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['chunk_index', 'file_size', 'created_at'],
          },
        },
      ]);
      expect(table.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    });
  });

  describe('stream handler', () => {
    it('reads the VectorEmbeddings stream with the retry, bisect, age and partial-failure settings', () => {
      const [, streamSync] = functionByHandler('handlers/stream-sync.handler');
      const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
        ([, m]) =>
          JSON.stringify(m.Properties.EventSourceArn) ===
          JSON.stringify({ 'Fn::GetAtt': ['VectorEmbeddingsTable', 'StreamArn'] }),
      );
      expect(mappings).toHaveLength(1);
      const [, mapping] = mappings[0] as [string, Resource];
      expect(mapping.Properties).toMatchObject({
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 1,
        StartingPosition: 'TRIM_HORIZON',
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 3600,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['StreamDeadLetterQueue', 'Arn'] } } },
      });
      expect(mapping.Properties.FunctionName).toEqual({ 'Fn::GetAtt': ['StreamSyncLambdaFunction', 'Arn'] });
      expect(streamSync.Properties.Timeout).toBe(60);
    });
  });

  describe('ingestion', () => {
    it('consumes the ingestion queue in batches with partial batch responses', () => {
      const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
        ([, m]) =>
          JSON.stringify(m.Properties.EventSourceArn) ===
          JSON.stringify({ 'Fn::GetAtt': ['IngestionQueue', 'Arn'] }),
      );
      expect(mappings).toHaveLength(1);
      const [, mapping] = mappings[0] as [string, Resource];
      expect(mapping.Properties.FunctionName).toEqual({ 'Fn::GetAtt': ['SqsIngestLambdaFunction', 'Arn'] });
      expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.Properties.BatchSize).toBe(10);
    });

    it('sends a message that failed five receives to its own dead-letter queue', () => {
      const queue = resource('IngestionQueue').Properties;
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': ['IngestionDeadLetterQueue', 'Arn'] },
        maxReceiveCount: 5,
      });
      expect(resource('IngestionDeadLetterQueue').Type).toBe('AWS::SQS::Queue');
      expect(resource('StreamDeadLetterQueue').Type).toBe('AWS::SQS::Queue');
    });

    it('hides a message for at least six times the consumer timeout, so a slow batch is not redelivered mid-run', () => {
      const [, sqsIngest] = functionByHandler('handlers/sqs-ingest.handler');
      expect(resource('IngestionQueue').Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
        6 * (sqsIngest.Properties.Timeout as number),
      );
    });
  });

  describe('HTTP API', () => {
    const routes: [string, string][] = [
      ['POST /bots/{botId}/search', 'handlers/http-search.handler'],
      ['POST /bots/{botId}/search/batch', 'handlers/http-search-batch.handler'],
      ['POST /bots/{botId}/recommend', 'handlers/http-recommend.handler'],
      ['PUT /bots/{botId}', 'handlers/http-put-bot.handler'],
      ['GET /bots/{botId}', 'handlers/http-get-bot.handler'],
      ['DELETE /bots/{botId}', 'handlers/http-delete-bot.handler'],
      ['GET /bots/{botId}/documents', 'handlers/http-list-documents.handler'],
      ['POST /bots/{botId}/documents', 'handlers/http-upsert-document.handler'],
      ['DELETE /bots/{botId}/documents', 'handlers/http-delete-document.handler'],
      ['PATCH /bots/{botId}/documents', 'handlers/http-patch-document.handler'],
      ['GET /bots', 'handlers/http-list-bots.handler'],
      ['GET /bots/{botId}/documents/chunks', 'handlers/http-list-chunks.handler'],
      ['GET /bots/{botId}/doctor', 'handlers/http-check-bot.handler'],
      ['PUT /aliases/{alias}', 'handlers/http-put-alias.handler'],
      ['DELETE /aliases/{alias}', 'handlers/http-delete-alias.handler'],
    ];

    it('has exactly these routes and the console page (without an authorizer: serverless-package-x64)', () => {
      const keys = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
      expect(keys.sort()).toEqual([...routes.map(([key]) => key), 'GET /console'].sort());
    });

    it.each(routes)('routes %s to %s behind the JWT authorizer', (routeKey, handler) => {
      const [, route] = ofType('AWS::ApiGatewayV2::Route').find(
        ([, r]) => r.Properties.RouteKey === routeKey,
      ) as [string, Resource];
      expect(route.Properties.AuthorizationType).toBe('JWT');
      expect(route.Properties.AuthorizerId).toEqual({ Ref: 'HttpApiAuthorizerJwtAuthorizer' });
      const integrationId = JSON.stringify(route.Properties.Target).match(/"Ref":"([^"]+)"/)?.[1] as string;
      const [functionId] = functionByHandler(handler);
      expect(resource(integrationId).Properties.IntegrationUri).toEqual({
        'Fn::GetAtt': [functionId, 'Arn'],
      });
    });

    it('verifies bearer JWTs against the stage issuer and audience', () => {
      const authorizer = resource('HttpApiAuthorizerJwtAuthorizer').Properties;
      expect(authorizer.AuthorizerType).toBe('JWT');
      expect(authorizer.IdentitySource).toEqual(['$request.header.Authorization']);
      expect(authorizer.JwtConfiguration).toEqual({
        Issuer: '{{resolve:ssm:/ddb-vector-sync/dev/jwt-issuer}}',
        Audience: ['{{resolve:ssm:/ddb-vector-sync/dev/jwt-audience}}'],
      });
    });
  });

  describe('function configuration', () => {
    it('trusts the authorizer and carries no local endpoint or development key', () => {
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
        expect({ id, ...variables }).toMatchObject({
          id,
          AUTH_MODE: 'authorizer',
          TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-dev',
          TABLE_BOT_COLLECTIONS: 'BotCollections-dev',
          TABLE_BOT_DOCUMENTS: 'BotDocuments-dev',
          TABLE_STREAM_CLAIMS: 'StreamClaims-dev',
          TABLE_BOT_ALIASES: 'BotAliases-dev',
          REDIS_URL: '{{resolve:ssm:/ddb-vector-sync/dev/redis-url}}',
          EMBEDDING_ENCODING: 'list',
        });
        expect(variables).not.toHaveProperty('LOCAL_JWT_SECRET');
        expect(variables).not.toHaveProperty('DYNAMODB_ENDPOINT');
      }
    });

    it('runs every function on nodejs22.x, a supported Lambda runtime, with esbuild targeting the same Node', async () => {
      const functions = ofType('AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const [id, fn] of functions) {
        expect({ id, runtime: fn.Properties.Runtime }).toEqual({ id, runtime: 'nodejs22.x' });
      }
      const settings = parseServerlessYaml(await readFile(join(root, 'serverless.yml'), 'utf8')) as {
        custom: { esbuild: { target: string } };
      };
      expect(settings.custom.esbuild.target).toBe('node22');
    });

    it('packages each function as its own esbuild bundle without node_modules (but the search binary)', async () => {
      const functions = ofType('AWS::Lambda::Function');
      expect(functions).toHaveLength(19);
      for (const [id, fn] of functions) {
        const key = (fn.Properties.Code as { S3Key: string }).S3Key;
        const zipName = key.split('/').pop() as string;
        expect({ id, artifact: artifacts.includes(zipName) }).toEqual({ id, artifact: true });
        const entries = await zipEntries(join(outDir, zipName));
        const handlerFile = `${(fn.Properties.Handler as string).replace(/\.handler$/, '')}.js`;
        expect(entries).toContain(handlerFile);
        // The one file from node_modules: the search function's native binary (tested below).
        const native = SEARCH_FUNCTIONS.includes(id) ? USEARCH_BINARY : /^$/;
        expect(entries.filter((e) => e.includes('node_modules/') && !native.test(e))).toEqual([]);
      }
    });
  });

  describe('native search binary', () => {
    it('ships usearch for arm64 (the default architecture) with the search functions only', async () => {
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        expect({ id, architectures: fn.Properties.Architectures }).toEqual({ id, architectures: ['arm64'] });
        const key = (fn.Properties.Code as { S3Key: string }).S3Key;
        const files = await zipFiles(join(outDir, key.split('/').pop() as string));
        const binaries = [...files.keys()].filter((name) => USEARCH_BINARY.test(name));
        if (!SEARCH_FUNCTIONS.includes(id)) {
          expect({ id, binaries }).toEqual({ id, binaries: [] });
          continue;
        }
        expect(binaries).toEqual(['node_modules/usearch/prebuilds/linux-arm64/usearch.node']);
        expect(elfMachine(files.get(binaries[0] as string) as Buffer)).toBe(0xb7);
      }
    });
  });

  describe('alarms', () => {
    const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const queryOf = (alarm: Record<string, unknown>) =>
      ((alarm.Metrics ?? []) as { Expression?: string }[]).map((m) => m.Expression ?? '').join(' ');

    it.each(['ThrottledRequests', 'SystemErrors'])('alarms on DynamoDB %s of all three tables', (metric) => {
      const alarm = alarms().find((a) => queryOf(a).includes(`SUM(${metric})`));
      expect(alarm).toBeDefined();
      const query = queryOf(alarm as Record<string, unknown>);
      for (const table of ['VectorEmbeddings-dev', 'BotCollections-dev', 'BotDocuments-dev']) {
        expect(query).toContain(`TableName = '${table}'`);
      }
    });

    it('alarms on DynamoDB UserErrors', () => {
      expect(alarms().some((a) => a.Namespace === 'AWS/DynamoDB' && a.MetricName === 'UserErrors')).toBe(
        true,
      );
    });

    it('alarms when the doctor finds drift, and schedules the doctor daily with repair', () => {
      const alarm = alarms().find((a) => a.MetricName === 'DoctorDriftFound');
      expect(alarm).toMatchObject({ Namespace: 'DdbVectorSync', ComparisonOperator: 'GreaterThanThreshold' });
      const rules = ofType('AWS::Events::Rule').map(([, rule]) => rule.Properties);
      expect(rules).toEqual([
        expect.objectContaining({
          ScheduleExpression: 'rate(1 day)',
          Targets: [
            expect.objectContaining({
              Input: JSON.stringify({ repair: true, replayDeadLetters: true }),
            }),
          ],
        }),
      ]);
    });

    it("alarms when the stream handler's iterator age grows", () => {
      const alarm = alarms().find((a) => a.MetricName === 'IteratorAge');
      expect(alarm?.Dimensions).toEqual([
        { Name: 'FunctionName', Value: { Ref: 'StreamSyncLambdaFunction' } },
      ]);
      expect(alarm?.Statistic).toBe('Maximum');
    });

    it.each(['StreamDeadLetterQueue', 'IngestionDeadLetterQueue'])('alarms on any message in %s', (queue) => {
      const alarm = alarms().find(
        (a) =>
          a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(a.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]),
      );
      expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    });

    it('notifies one SNS topic from every alarm', () => {
      for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(resource('AlarmTopic').Type).toBe('AWS::SNS::Topic');
    });
  });

  describe('IAM', () => {
    it('gives every function a role of its own and creates no shared role', () => {
      const roleIds = ofType('AWS::Lambda::Function').map(([, fn]) => JSON.stringify(fn.Properties.Role));
      expect(new Set(roleIds).size).toBe(roleIds.length);
      expect(resources).not.toHaveProperty('IamRoleLambdaExecution');
    });

    it('allows no DynamoDB or SQS action on "*" and no wildcard data action', () => {
      for (const [roleId, role] of ofType('AWS::IAM::Role')) {
        for (const statement of statementsOf(role)) {
          const dataActions = actionsOf(statement).filter((a) => /^(dynamodb|sqs):/.test(a));
          if (dataActions.length === 0) continue;
          const targets = resourcesOf(statement);
          expect({ roleId, dataActions, onStar: targets.some((t) => t === '*') }).toEqual({
            roleId,
            dataActions,
            onStar: false,
          });
          expect({ roleId, wildcards: dataActions.filter((a) => a.includes('*')) }).toEqual({
            roleId,
            wildcards: [],
          });
        }
      }
    });

    it("lets the stream handler read only its table's stream, write counts and send to its dead-letter queue", () => {
      const [, streamSync] = functionByHandler('handlers/stream-sync.handler');
      const roleId = (streamSync.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const statements = statementsOf(resource(roleId));
      const streamRead = statements.filter((s) => actionsOf(s).includes('dynamodb:GetRecords'));
      expect(streamRead).toHaveLength(1);
      expect(resourcesOf(streamRead[0] as Statement)).toEqual([
        { 'Fn::GetAtt': ['VectorEmbeddingsTable', 'StreamArn'] },
      ]);
      expect(actionsOf(streamRead[0] as Statement).sort()).toEqual(
        [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
        ].sort(),
      );
      const writeActions = ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];
      const writes = statements.filter((s) => actionsOf(s).some((a) => writeActions.includes(a)));
      expect(
        writes
          .flatMap(resourcesOf)
          .map((r) => JSON.stringify(r))
          .sort(),
      ).toEqual(
        [
          { 'Fn::GetAtt': ['BotCollectionsTable', 'Arn'] },
          { 'Fn::GetAtt': ['BotDocumentsTable', 'Arn'] },
          { 'Fn::GetAtt': ['StreamClaimsTable', 'Arn'] },
        ]
          .map((r) => JSON.stringify(r))
          .sort(),
      );
      // The embeddings are read (never written) only to build the snapshot of a bot that has none.
      const tableArn = JSON.stringify({ 'Fn::GetAtt': ['VectorEmbeddingsTable', 'Arn'] });
      const onTable = statements.filter((s) => resourcesOf(s).some((r) => JSON.stringify(r) === tableArn));
      expect(onTable.flatMap(actionsOf).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query']);
      const sends = statements.filter((s) => actionsOf(s).includes('sqs:SendMessage'));
      expect(sends.flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': ['StreamDeadLetterQueue', 'Arn'] }]);
    });

    it('lets each function write logs only to its own log group', () => {
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
        const logGroup = id.replace(/LambdaFunction$/, 'LogGroup');
        const logs = statementsOf(resource(roleId)).filter((s) =>
          actionsOf(s).some((a) => a.startsWith('logs:')),
        );
        expect(logs.flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': [logGroup, 'Arn'] }]);
      }
    });
  });
});
