import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretUnavailableError } from '../../errors';

/** Reads a secret's current value; the Redis client asks for its password through one. */
export type SecretReader = () => Promise<string>;

/**
 * Reads the SSM SecureString `name` (decrypted) with Powertools Parameters. The SDK gives up after 2 s to
 * connect and 3 s to answer, so that a function without a route to SSM (a VPC with neither an SSM endpoint
 * nor a NAT) fails its Redis calls, and falls back to DynamoDB, instead of waiting out its timeout.
 * @throws SecretUnavailableError naming the parameter and what the function's role needs.
 */
export function ssmSecureString(name: string, region: string): SecretReader {
  const provider = new SSMProvider({
    clientConfig: {
      region,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 2000, requestTimeout: 3000 },
    },
  });
  return async () => {
    let value: string | undefined;
    try {
      value = await provider.get(name, { decrypt: true, forceFetch: true });
    } catch (error) {
      throw new SecretUnavailableError(
        `could not read the SSM parameter ${name} (${(error as Error).message}): the function's role needs ssm:GetParameter on it, kms:Decrypt on its key if that is a customer key, and a route to SSM`,
        { cause: error },
      );
    }
    if (value === undefined || value === '') {
      throw new SecretUnavailableError(`the SSM parameter ${name} is empty`);
    }
    return value;
  };
}

/**
 * `read` once per container: concurrent first callers share one read, and later callers get its value.
 * A failed read is not kept, so the next caller tries again.
 */
export function readOnce(read: SecretReader): SecretReader {
  let value: Promise<string> | undefined;
  return () => {
    value ??= read().catch((error: unknown) => {
      value = undefined;
      throw error;
    });
    return value;
  };
}
