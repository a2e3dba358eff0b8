import { offlineEnv, PACKAGE_TIMEOUT_MS, root, run, serverlessBin } from './serverless-cli';

/** `serverless print` per stage (offline): what each stage's configuration resolves to. */
describe('serverless print --stage local', () => {
  let config: {
    provider: { environment: Record<string, string> };
    functions: Record<string, { events?: { httpApi?: Record<string, unknown> }[] }>;
  };

  beforeAll(async () => {
    const { stdout } = await run(
      process.execPath,
      [serverlessBin, 'print', '--stage', 'local', '--format', 'json'],
      {
        cwd: root,
        env: {
          ...offlineEnv,
          DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
          REDIS_URL: 'redis://127.0.0.1:6379',
          LOCAL_JWT_SECRET: 'x'.repeat(32),
          TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-e2e',
          EMBEDDING_ENCODING: 'binary',
          REDIS_KEY_PREFIX: 'dev-prefix',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    config = JSON.parse(stdout.slice(stdout.indexOf('{')));
  }, PACKAGE_TIMEOUT_MS);

  it('verifies development tokens in the handlers against the local endpoints from the environment', () => {
    expect(config.provider.environment).toMatchObject({
      AUTH_MODE: 'local-key',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOCAL_JWT_SECRET: 'x'.repeat(32),
      TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-e2e',
      TABLE_BOT_COLLECTIONS: 'BotCollections',
      // What the in-process stream handler reads from the same environment.
      EMBEDDING_ENCODING: 'binary',
      REDIS_KEY_PREFIX: 'dev-prefix',
      JWT_ISSUER: 'ddb-vector-sync-local',
    });
  });

  it('puts no API Gateway authorizer on the routes', () => {
    const httpEvents = Object.values(config.functions).flatMap((fn) =>
      (fn.events ?? []).flatMap((e) => (e.httpApi === undefined ? [] : [e.httpApi])),
    );
    expect(httpEvents).toHaveLength(16);
    // A null authorizer is dropped when the template is compiled.
    for (const event of httpEvents) expect(event.authorizer ?? null).toBeNull();
  });
});

describe('serverless print --stage prod', () => {
  let config: {
    provider: { environment: Record<string, string> };
    resources: {
      Resources: Record<
        string,
        { Type: string; DeletionPolicy?: string; Properties: Record<string, unknown> }
      >;
    };
    functions: Record<string, { events?: { httpApi?: Record<string, unknown> }[] }>;
  };

  beforeAll(async () => {
    const { stdout } = await run(
      process.execPath,
      [serverlessBin, 'print', '--stage', 'prod', '--format', 'json'],
      {
        cwd: root,
        env: offlineEnv,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    config = JSON.parse(stdout.slice(stdout.indexOf('{')));
  }, PACKAGE_TIMEOUT_MS);

  it('keeps the tables when the stack goes and recovers them to any point in time', () => {
    // DocumentLeases holds only leases of writes in progress (seconds long): nothing to keep or recover.
    const tables = Object.values(config.resources.Resources).filter(
      (r) =>
        r.Type === 'AWS::DynamoDB::Table' && !String(r.Properties.TableName).startsWith('DocumentLeases'),
    );
    expect(tables).toHaveLength(5);
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('puts the JWT authorizer on every route and reads Redis from the stage parameter', () => {
    const httpEvents = Object.values(config.functions).flatMap((fn) =>
      (fn.events ?? []).flatMap((e) => (e.httpApi === undefined ? [] : [e.httpApi])),
    );
    // Every API route; the console's page holds no data and has none (its script sends the user's token).
    const apiEvents = httpEvents.filter((event) => event.path !== '/console');
    expect(apiEvents).toHaveLength(15);
    for (const event of apiEvents) expect(event.authorizer).toEqual({ name: 'jwtAuthorizer' });
    expect(httpEvents.find((event) => event.path === '/console')).not.toHaveProperty('authorizer');
    expect(config.provider.environment).toMatchObject({
      AUTH_MODE: 'authorizer',
      REDIS_URL: '{{resolve:ssm:/ddb-vector-sync/prod/redis-url}}',
      TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-prod',
    });
  });
});
