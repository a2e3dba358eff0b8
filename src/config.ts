import { z } from 'zod';
import { EMBEDDING_ENCODINGS, type EmbeddingEncoding } from './domain/embedding-codec';
import { ConfigError } from './errors';

/** What SSM accepts as a parameter name (a path or a plain name), also checked by infra/stage-settings.js. */
const SSM_PARAMETER_NAME = /^[a-zA-Z0-9_.\-/]{1,1011}$/;

const configSchema = z.object({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** DynamoDB Local, LocalStack or any other endpoint; unset means the region's AWS endpoint. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  TABLE_VECTOR_EMBEDDINGS: z.string().min(1).default('VectorEmbeddings'),
  TABLE_BOT_COLLECTIONS: z.string().min(1).default('BotCollections'),
  TABLE_BOT_DOCUMENTS: z.string().min(1).default('BotDocuments'),
  /** Short per-document write leases: one replacement of a document at a time. */
  TABLE_DOCUMENT_LEASES: z.string().min(1).default('DocumentLeases'),
  /** Alias names and the bot each points at (read and search routes accept an alias for a bot id). */
  TABLE_BOT_ALIASES: z.string().min(1).default('BotAliases'),
  /** The stream handler's claims of the records it counted (expire after the stream's 24 h retention). */
  TABLE_STREAM_CLAIMS: z.string().min(1).default('StreamClaims'),
  /** How the write path stores `embedding`: the design's List<Number>, or packed little-endian float32 Binary. */
  EMBEDDING_ENCODING: z.enum(EMBEDDING_ENCODINGS).default('list'),
  DEFAULT_EMBEDDING_DIMENSION: z.coerce.number().int().positive().default(384),
  /**
   * redis:// or rediss:// (ElastiCache in transit encryption). Unset: no snapshot cache. In AWS it holds no
   * password (REDIS_PASSWORD_PARAMETER does); a local Redis may take one in the URL.
   */
  REDIS_URL: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
  ),
  /** The SSM SecureString holding the Redis password (ElastiCache AUTH token), read once per container. */
  REDIS_PASSWORD_PARAMETER: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .string()
      .regex(
        SSM_PARAMETER_NAME,
        'must be an SSM parameter name (letters, digits and _ . - /), e.g. /ddb-vector-sync/prod/redis-password',
      )
      .optional(),
  ),
  REDIS_KEY_PREFIX: z.string().min(1).default('vs'),
  /**
   * `memory`: no Redis; each search container holds the bots it serves in process, checked against the
   * bot's data_version, and the stream handler records each version's changed chunks. Unset: Redis when
   * REDIS_URL is set, else every search reads DynamoDB.
   */
  SNAPSHOT_MODE: z.preprocess((value) => (value === '' ? undefined : value), z.enum(['memory']).optional()),
  /** Set by Lambda (and serverless-offline) from the function's memory: sizes what a container holds. */
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.coerce.number().int().positive().optional(),
  ),
  /**
   * `authorizer`: API Gateway's JWT authorizer verified the token; trust its claims.
   * `local-key`: verify the Bearer token here with LOCAL_JWT_SECRET (serverless-offline and tests).
   */
  AUTH_MODE: z.enum(['authorizer', 'local-key']).default('authorizer'),
  LOCAL_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ISSUER: z.string().min(1).default('ddb-vector-sync-local'),
  JWT_AUDIENCE: z.string().min(1).default('ddb-vector-sync'),
});

export type Config = {
  region: string;
  dynamodbEndpoint: string | undefined;
  tables: {
    vectorEmbeddings: string;
    botCollections: string;
    botDocuments: string;
    documentLeases: string;
    botAliases: string;
    streamClaims: string;
  };
  embeddingEncoding: EmbeddingEncoding;
  defaultEmbeddingDimension: number;
  redisUrl: string | undefined;
  /** The SSM SecureString parameter name of the Redis password; undefined: the URL says it all. */
  redisPasswordParameter: string | undefined;
  redisKeyPrefix: string;
  /** Where searches find their snapshots: Redis, the container's memory, or nowhere (DynamoDB each time). */
  snapshotMode: 'redis' | 'memory' | 'none';
  /** The function's memory in MB (Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE); undefined outside Lambda. */
  functionMemoryMb: number | undefined;
  auth:
    | { mode: 'authorizer'; issuer: string; audience: string }
    | { mode: 'local-key'; secret: string; issuer: string; audience: string };
};

/**
 * Reads the configuration once from the environment.
 * @throws ConfigError naming the variable that is missing or malformed.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  if (e.AUTH_MODE === 'local-key' && e.LOCAL_JWT_SECRET === undefined) {
    throw new ConfigError('LOCAL_JWT_SECRET must be set (32+ characters) when AUTH_MODE=local-key');
  }
  if (e.REDIS_PASSWORD_PARAMETER !== undefined) {
    if (e.REDIS_URL === undefined) {
      throw new ConfigError('REDIS_PASSWORD_PARAMETER is set but REDIS_URL is not: set both, or neither');
    }
    if (/^rediss?:\/\/[^/@]*:[^/@]*@/.test(e.REDIS_URL)) {
      throw new ConfigError(
        'REDIS_URL carries a password and REDIS_PASSWORD_PARAMETER names one too: remove the password from the URL',
      );
    }
  }
  if (e.SNAPSHOT_MODE === 'memory' && e.REDIS_URL !== undefined) {
    throw new ConfigError('SNAPSHOT_MODE=memory uses no Redis, but REDIS_URL is set: unset one of them');
  }
  return {
    region: e.AWS_REGION,
    dynamodbEndpoint: e.DYNAMODB_ENDPOINT,
    tables: {
      vectorEmbeddings: e.TABLE_VECTOR_EMBEDDINGS,
      botCollections: e.TABLE_BOT_COLLECTIONS,
      botDocuments: e.TABLE_BOT_DOCUMENTS,
      documentLeases: e.TABLE_DOCUMENT_LEASES,
      botAliases: e.TABLE_BOT_ALIASES,
      streamClaims: e.TABLE_STREAM_CLAIMS,
    },
    embeddingEncoding: e.EMBEDDING_ENCODING,
    defaultEmbeddingDimension: e.DEFAULT_EMBEDDING_DIMENSION,
    redisUrl: e.REDIS_URL,
    redisPasswordParameter: e.REDIS_PASSWORD_PARAMETER,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    snapshotMode: e.SNAPSHOT_MODE ?? (e.REDIS_URL === undefined ? 'none' : 'redis'),
    functionMemoryMb: e.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    auth:
      e.AUTH_MODE === 'local-key' && e.LOCAL_JWT_SECRET !== undefined
        ? { mode: 'local-key', secret: e.LOCAL_JWT_SECRET, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE }
        : { mode: 'authorizer', issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE },
  };
}
