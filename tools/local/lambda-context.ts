import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

/** The ARN a local function pretends to have (account 000000000000, like DynamoDB Local's ARNs). */
export function localFunctionArn(functionName: string, region: string): string {
  return `arn:aws:lambda:${region}:000000000000:function:${functionName}`;
}

/**
 * A Lambda `Context` for one local invocation: a fresh request id, and a remaining time that counts down
 * from the function's timeout. The deprecated callback methods throw, as handlers should return promises.
 */
export function createLambdaContext(input: {
  functionName: string;
  region: string;
  timeoutSeconds: number;
  memoryLimitInMB?: number;
}): Context {
  const deadline = Date.now() + input.timeoutSeconds * 1000;
  const requestId = randomUUID();
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name}() is not supported locally: return a promise from the handler`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: input.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: localFunctionArn(input.functionName, input.region),
    memoryLimitInMB: String(input.memoryLimitInMB ?? 1024),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${input.functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported('done'),
    fail: unsupported('fail'),
    succeed: unsupported('succeed'),
  };
}
