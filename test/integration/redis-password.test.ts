import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { readOnce } from '../../src/adapters/ssm/secure-string';
import { SecretUnavailableError } from '../../src/errors';
import { createRedisClient } from '../../src/redis-client';

/**
 * The Redis client that reads its password through a parameter reader, against the real redis-server of
 * the test setup: a private ACL user with a password stands for ElastiCache's AUTH (the default user stays
 * open for the other test files).
 */
const serverUrl = new URL(process.env.REDIS_URL as string);
const user = `pw-${randomUUID()}`;
const secret = randomUUID();
const userUrl = `redis://${user}@${serverUrl.host}`;
let admin: Redis;
const clients: Redis[] = [];

beforeAll(async () => {
  admin = new Redis(serverUrl.toString());
  await admin.acl('SETUSER', user, 'on', `>${secret}`, '~*', '+@all');
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await admin.acl('DELUSER', user);
  admin.disconnect();
});

function countingReader(answers: Array<string | Error>) {
  const reader = {
    reads: 0,
    read: async () => {
      const answer = answers[Math.min(reader.reads, answers.length - 1)];
      reader.reads += 1;
      if (answer instanceof Error) throw answer;
      return answer as string;
    },
  };
  return reader;
}

const clientWith = (read: () => Promise<string>) => {
  const client = createRedisClient(userUrl, readOnce(read));
  clients.push(client);
  return client;
};

describe('the Redis client with a password from a parameter', () => {
  it('authenticates with the password it read once, for many commands, pipelines and transactions', async () => {
    const parameter = countingReader([secret]);
    const client = clientWith(parameter.read);
    const key = `pw-test:${randomUUID()}`;
    // Sent before the password is known: they wait for it, in order.
    const replies = await Promise.all([
      client.set(key, '1'),
      client.incr(key),
      client.pipeline().incr(key).incr(key).exec(),
      client.multi().incr(key).get(key).exec(),
      ...Array.from({ length: 20 }, () => client.ping()),
    ]);
    expect(replies.slice(0, 4)).toEqual([
      'OK',
      2,
      [
        [null, 3],
        [null, 4],
      ],
      [
        [null, 5],
        [null, '5'],
      ],
    ]);
    expect(await client.acl('WHOAMI')).toBe(user);
    expect(await admin.get(key)).toBe('5');
    expect(parameter.reads).toBe(1);
    await admin.del(key);
  });

  it('is refused by Redis when the parameter holds another password', async () => {
    const client = clientWith(countingReader(['not-the-password']).read);
    await expect(client.ping()).rejects.toThrow(/WRONGPASS|NOAUTH/);
  });

  it('fails the waiting commands when the parameter cannot be read, and reads again on the next command', async () => {
    const denied = new SecretUnavailableError('could not read the SSM parameter /p (AccessDeniedException)');
    const parameter = countingReader([denied, secret]);
    const client = clientWith(parameter.read);
    await expect(Promise.all([client.ping(), client.ping()])).rejects.toThrow(SecretUnavailableError);
    expect(await client.ping()).toBe('PONG');
    expect(parameter.reads).toBe(2);
  });
});
