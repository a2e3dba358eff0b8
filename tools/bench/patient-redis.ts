import type { Redis } from 'ioredis';
import { createRedisClient } from '../../src/redis-client';

/** The product's Redis client (src/redis-client.ts) with a 60 s command timeout, for 1M-chunk reads. */
export function patientRedisClient(url: string): Redis {
  const client = createRedisClient(url);
  // ioredis reads the option as each command is sent.
  client.options.commandTimeout = 60_000;
  return client;
}
