import IORedis, { type Redis } from 'ioredis';

/** The product's Redis client settings (src/clients.ts) but a 60 s command timeout, for 1M-chunk reads. */
export function patientRedisClient(url: string): Redis {
  return new IORedis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 60_000 });
}
