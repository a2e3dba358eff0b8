/**
 * The stage-dependent parts of serverless.yml that plain YAML variables cannot say: a setting that must be
 * ABSENT in some stages (Serverless v3 drops a property whose variable resolves to null, and a file
 * variable whose value is null falls back to the `, null` default). Everything else lives in serverless.yml.
 *
 * - `local` (serverless-offline, LocalStack): no API Gateway authorizer (the handlers verify the
 *   development token themselves, AUTH_MODE=local-key), and the local endpoints and key come from the
 *   environment `npm run dev` sets.
 * - every other stage: the JWT authorizer on every route, AUTH_MODE=authorizer, no local settings.
 *   An unknown stage gets the AWS behaviour, so a typo never deploys an unauthenticated API.
 */
module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const local = stage === 'local';
  const subnetIds = list(await resolveVariable('param:vpcSubnetIds'));
  const securityGroupIds = list(await resolveVariable('param:vpcSecurityGroupIds'));
  const inVpc = subnetIds.length > 0 && securityGroupIds.length > 0;
  // Where the snapshot's Redis comes from: `url` (redisUrl, a cache you run), `create` (the stack creates
  // one: infra/redis-create-plugin.js) or `none` (no Redis: every search reads DynamoDB).
  const redisMode = String((await resolveVariable('param:redis')) ?? 'url').trim();
  if (!['url', 'create', 'none'].includes(redisMode)) {
    throw new Error(
      `redis "${redisMode}" is not a Redis mode: give url, create or none (docs/deploy.md, "Modes").`,
    );
  }
  // Where searches find their snapshots: `redis` (the Redis mode above) or `memory` (no Redis at all: each
  // search container holds its bots in process, checked against the bot's data_version).
  const snapshotsMode = String((await resolveVariable('param:snapshots')) ?? 'redis').trim();
  if (!['redis', 'memory'].includes(snapshotsMode)) {
    throw new Error(
      `snapshots "${snapshotsMode}" is not a snapshot mode: give redis or memory (docs/deploy.md, "Modes").`,
    );
  }
  const memory = snapshotsMode === 'memory';
  if (memory && (redisMode === 'create' || subnetIds.length > 0 || securityGroupIds.length > 0)) {
    throw new Error(
      'snapshots=memory uses no Redis and no VPC: leave out redis=create, vpcSubnetIds and ' +
        'vpcSecurityGroupIds (docs/deploy.md, "Modes").',
    );
  }
  const redisCreate = !local && redisMode === 'create';
  if (redisCreate && (subnetIds.length > 0 || securityGroupIds.length > 0)) {
    throw new Error(
      'redis=create makes its own VPC for the cache and the functions that use it: leave out vpcSubnetIds and ' +
        'vpcSecurityGroupIds, or use redis=url with a cache of yours (docs/deploy.md, "Modes").',
    );
  }
  const redisUrl = local || memory || redisMode !== 'url' ? null : await resolveVariable('param:redisUrl');
  // A literal URL (not the SSM reference resolved at deploy time) names a cache the functions must reach:
  // ElastiCache answers only inside its VPC, and a function outside it times out on every Redis call.
  if (/^rediss?:\/\//.test(String(redisUrl ?? '')) && !inVpc) {
    throw new Error(
      'redisUrl is a Redis URL but the functions are not in a VPC, so they could not reach ElastiCache. ' +
        'Also give --param="vpcSubnetIds=subnet-a,subnet-b" --param="vpcSecurityGroupIds=sg-1" ' +
        '(subnets and a security group that can reach the cache); docs/deploy.md, "Deploying to AWS".',
    );
  }
  // The URL names the cache; its password (the ElastiCache AUTH token) lives in an SSM SecureString that the
  // Redis-using functions read at run time (src/adapters/ssm/secure-string.ts), never in the environment.
  if (/^rediss?:\/\/[^/@]*:[^/@]*@/.test(String(redisUrl ?? ''))) {
    throw new Error(
      "redisUrl carries a password, which would sit in plain text in every function's environment. " +
        'Put the password in an SSM SecureString, give the URL without it and add ' +
        '--param="redisPasswordParameter=/ddb-vector-sync/<stage>/redis-password"; docs/deploy.md, "Deploying to AWS".',
    );
  }
  const passwordParameter =
    local || memory ? '' : String((await resolveVariable('param:redisPasswordParameter')) ?? '').trim();
  if (redisMode !== 'url' && passwordParameter !== '') {
    throw new Error(
      `redis=${redisMode} takes no password (the created cache is reached only from its security group): ` +
        'leave out redisPasswordParameter (docs/deploy.md, "Modes").',
    );
  }
  if (passwordParameter !== '' && !/^[a-zA-Z0-9_.\-/]{1,1011}$/.test(passwordParameter)) {
    throw new Error(
      `redisPasswordParameter "${passwordParameter}" is not an SSM parameter name: give its name (letters, digits ` +
        'and _ . - /, e.g. /ddb-vector-sync/prod/redis-password), not its ARN or value.',
    );
  }
  const kmsKeyArn = String((await resolveVariable('param:redisPasswordKmsKeyArn')) ?? '').trim();
  if (kmsKeyArn !== '' && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/.test(kmsKeyArn)) {
    throw new Error(
      `redisPasswordKmsKeyArn "${kmsKeyArn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): ` +
        'give the customer key the SecureString is encrypted with, or nothing for the aws/ssm key.',
    );
  }
  // The search functions' memory: it buys CPU and sizes what a container holds between searches
  // (src/snapshot/budgets.ts: 512 MiB of snapshots for every 1,769 MB).
  const searchMemoryText = String((await resolveVariable('param:searchMemorySize')) ?? '1769').trim();
  const searchMemorySize = Number(searchMemoryText);
  if (!/^\d+$/.test(searchMemoryText) || searchMemorySize < 1769 || searchMemorySize > 10240) {
    throw new Error(
      `searchMemorySize "${searchMemoryText}" is not a search function memory: give MB from 1769 (a full vCPU) ` +
        'to 10240, e.g. --param="searchMemorySize=8192" to hold a 1M-chunk bot (docs/deploy.md, "Large bots").',
    );
  }
  // `--param="tracing=true"` arrives as a string; the framework takes any truthy value as a tracing mode.
  const tracing = String(await resolveVariable('param:tracing')) === 'true';
  return {
    tracing,
    searchMemorySize,
    // Read by infra/redis-create-plugin.js.
    redisCreate,
    // Read by infra/memory-mode-plugin.js.
    memorySnapshots: !local && memory,
    // Lambda environment values are strings.
    tracingEnvironment: String(tracing),
    routeAuthorizer: local ? null : { name: 'jwtAuthorizer' },
    environment: local
      ? {
          AUTH_MODE: 'local-key',
          DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT || null,
          // Empty, not null (see below): `npm run dev -- --no-redis` runs without Redis.
          REDIS_URL: process.env.REDIS_URL || '',
          // Empty, not null: serverless-offline hands a null value to the handler as the string "null".
          REDIS_PASSWORD_PARAMETER: '',
          SNAPSHOT_MODE: process.env.SNAPSHOT_MODE || '',
          LOCAL_JWT_SECRET: process.env.LOCAL_JWT_SECRET || null,
        }
      : {
          AUTH_MODE: 'authorizer',
          DYNAMODB_ENDPOINT: null,
          REDIS_URL: redisUrl,
          REDIS_PASSWORD_PARAMETER: passwordParameter,
          SNAPSHOT_MODE: memory ? 'memory' : null,
          LOCAL_JWT_SECRET: null,
        },
    // Read by infra/redis-password-plugin.js: which parameter (and customer key) the Redis users may read.
    redisPassword: { parameter: passwordParameter || null, kmsKeyArn: kmsKeyArn || null },
    // ElastiCache lives in a VPC: the functions join it when subnets and security groups are given.
    vpc: inVpc ? { subnetIds, securityGroupIds } : null,
    // The ENI permissions Lambda needs inside a VPC (ec2 actions, no data access).
    vpcManagedPolicies: inVpc ? ['arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'] : [],
  };
};

function list(value) {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
