import { asOutage } from '../../src/adapters/outage';
import { UnavailableError } from '../../src/errors';
import { errorToResponse } from '../../src/http/error-response';

/** An error as the AWS SDK returns it: its name, and the $metadata it attaches to every error. */
function awsError(name: string, fields: Record<string, unknown> = {}): Error {
  const error = new Error(`${name} happened`);
  error.name = name;
  return Object.assign(error, { $metadata: { attempts: 4 }, ...fields });
}

function nodeError(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:8000`), { code, ...extra });
}

const failOnUnexpected = (error: unknown) => {
  throw new Error(`an outage is not unexpected: ${String(error)}`);
};

describe('a dependency that is down', () => {
  it.each([
    ['DynamoDB refusing connections', nodeError('ECONNREFUSED', { $metadata: { attempts: 4 } })],
    ['DynamoDB resetting a connection', nodeError('ECONNRESET', { $metadata: {} })],
    [
      'DynamoDB refusing connections, as the SDK wraps an error of another realm',
      Object.assign(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED 127.0.0.1:8000'), {
        $metadata: { attempts: 4 },
      }),
    ],
    ['DynamoDB throttling past the retries', awsError('ProvisionedThroughputExceededException')],
    ['DynamoDB throttling (on-demand)', awsError('ThrottlingException')],
    ['a DynamoDB request timing out', awsError('TimeoutError')],
    ['DynamoDB answering 500', awsError('InternalServerError', { $fault: 'server' })],
    ['DynamoDB answering 503', awsError('ServiceUnavailable', { $metadata: { httpStatusCode: 503 } })],
    [
      'a refused dual-stack connect (AggregateError)',
      Object.assign(new AggregateError([nodeError('ECONNREFUSED')], 'connect failed'), { $metadata: {} }),
    ],
    ['Redis refusing connections', nodeError('ECONNREFUSED')],
    ['Redis closing the connection', new Error('Connection is closed.')],
    ['a Redis command timing out', new Error('Command timed out')],
    [
      'ioredis giving up',
      Object.assign(new Error('Reached the max retries per request limit'), {
        name: 'MaxRetriesPerRequestError',
      }),
    ],
    ['load shed by this function', new UnavailableError('too many searches waiting', 'capacity', 1)],
  ])('answers %s with 503 unavailable and Retry-After, not a 500', (_what, error) => {
    const response = errorToResponse(error, failOnUnexpected);
    expect(response.statusCode).toBe(503);
    expect(Number(response.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(response.body ?? '').error.code).toBe('unavailable');
  });

  it('names which dependency was down', () => {
    expect(asOutage(nodeError('ECONNREFUSED', { $metadata: {} }))?.dependency).toBe('DynamoDB');
    expect(asOutage(nodeError('ECONNREFUSED'))?.dependency).toBe('Redis');
  });

  it.each([
    ['a request DynamoDB refuses as invalid', awsError('ValidationException', { $fault: 'client' })],
    ['a failed condition', awsError('ConditionalCheckFailedException', { $fault: 'client' })],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ])('leaves %s to the generic 500', (_what, error) => {
    let reported: unknown;
    const response = errorToResponse(error, (unexpected) => {
      reported = unexpected;
    });
    expect(response.statusCode).toBe(500);
    expect(reported).toBe(error);
  });
});
