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
  // `--param="tracing=true"` arrives as a string; the framework takes any truthy value as a tracing mode.
  const tracing = String(await resolveVariable('param:tracing')) === 'true';
  return {
    tracing,
    // Lambda environment values are strings.
    tracingEnvironment: String(tracing),
    routeAuthorizer: local ? null : { name: 'jwtAuthorizer' },
    environment: local
      ? {
          AUTH_MODE: 'local-key',
          DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT || null,
          REDIS_URL: process.env.REDIS_URL || null,
          LOCAL_JWT_SECRET: process.env.LOCAL_JWT_SECRET || null,
        }
      : {
          AUTH_MODE: 'authorizer',
          DYNAMODB_ENDPOINT: null,
          REDIS_URL: await resolveVariable('param:redisUrl'),
          LOCAL_JWT_SECRET: null,
        },
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
