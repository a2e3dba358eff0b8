import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';

describe('config', () => {
  it('runs on embedded defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config.tables).toEqual({
      vectorEmbeddings: 'VectorEmbeddings',
      botCollections: 'BotCollections',
      botDocuments: 'BotDocuments',
      documentLeases: 'DocumentLeases',
      botAliases: 'BotAliases',
      streamClaims: 'StreamClaims',
    });
    expect(config.embeddingEncoding).toBe('list');
    expect(config.defaultEmbeddingDimension).toBe(384);
    expect(config.redisUrl).toBeUndefined();
    expect(config.auth.mode).toBe('authorizer');
  });

  it('accepts an ElastiCache URL with TLS and a password', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://:secret@cache.example:6379' }).redisUrl).toBe(
      'rediss://:secret@cache.example:6379',
    );
  });

  it('names the variable that is malformed', () => {
    expect(() => loadConfig({ EMBEDDING_ENCODING: 'json' })).toThrow(ConfigError);
    expect(() => loadConfig({ EMBEDDING_ENCODING: 'json' })).toThrow(/EMBEDDING_ENCODING/);
    expect(() => loadConfig({ REDIS_URL: 'localhost:6379' })).toThrow(
      /REDIS_URL: must start with redis:\/\//,
    );
  });

  it('requires the local signing key when tokens are verified locally', () => {
    expect(() => loadConfig({ AUTH_MODE: 'local-key' })).toThrow(/LOCAL_JWT_SECRET must be set/);
    const config = loadConfig({ AUTH_MODE: 'local-key', LOCAL_JWT_SECRET: 'x'.repeat(32) });
    expect(config.auth).toMatchObject({ mode: 'local-key', secret: 'x'.repeat(32) });
  });

  it('takes the SSM parameter name of the Redis password, not the password', () => {
    const config = loadConfig({
      REDIS_URL: 'rediss://default@cache.example:6379',
      REDIS_PASSWORD_PARAMETER: '/ddb-vector-sync/prod/redis-password',
    });
    expect(config.redisPasswordParameter).toBe('/ddb-vector-sync/prod/redis-password');
    expect(loadConfig({ REDIS_PASSWORD_PARAMETER: '' }).redisPasswordParameter).toBeUndefined();
  });

  it('refuses a password parameter that is malformed, has no Redis, or competes with a password in the URL', () => {
    expect(() =>
      loadConfig({ REDIS_URL: 'redis://cache:6379', REDIS_PASSWORD_PARAMETER: 'arn:aws:ssm:x' }),
    ).toThrow(/REDIS_PASSWORD_PARAMETER: must be an SSM parameter name/);
    expect(() => loadConfig({ REDIS_PASSWORD_PARAMETER: '/p' })).toThrow(/REDIS_URL is not/);
    expect(() =>
      loadConfig({ REDIS_URL: 'rediss://:secret@cache:6379', REDIS_PASSWORD_PARAMETER: '/p' }),
    ).toThrow(/remove the password from the URL/);
  });

  it('picks the snapshot mode: Redis with a URL, memory when asked (never with a URL), else none', () => {
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379' }).snapshotMode).toBe('redis');
    expect(loadConfig({ REDIS_URL: '' }).snapshotMode).toBe('none');
    expect(loadConfig({ SNAPSHOT_MODE: 'memory', REDIS_URL: '' }).snapshotMode).toBe('memory');
    expect(loadConfig({ SNAPSHOT_MODE: '' }).snapshotMode).toBe('none');
    expect(() => loadConfig({ SNAPSHOT_MODE: 'memory', REDIS_URL: 'redis://cache:6379' })).toThrow(
      /SNAPSHOT_MODE=memory uses no Redis/,
    );
    expect(() => loadConfig({ SNAPSHOT_MODE: 'disk' })).toThrow(/SNAPSHOT_MODE/);
  });
});
