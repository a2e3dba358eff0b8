import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  describeEndpoints,
  findRunningStack,
  redactPassword,
  stackEnvironment,
} from '../../tools/local/running-stack';

/** How the tools find a running `npm run dev` from its state file, and what they say about it. */
let dir: string;
let stateFile: string;

const state = (pid: number) => ({
  httpUrl: 'http://127.0.0.1:4000',
  region: 'eu-west-1',
  dynamodbEndpoint: 'http://127.0.0.1:8123',
  redisUrl: 'redis://127.0.0.1:6400',
  tables: {
    vectorEmbeddings: 'VE-dev',
    botCollections: 'BC-dev',
    botDocuments: 'BD-dev',
    documentLeases: 'DL-dev',
    botAliases: 'BA-dev',
    streamClaims: 'SC-dev',
  },
  secret: 'x'.repeat(64),
  pid,
});

/** A process id that has ended (a child that ran and exited). */
function endedPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'running-stack-'));
  stateFile = join(dir, 'dev.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('finding the running dev stack', () => {
  it('takes endpoints, tables and region from the state file of a running npm run dev', () => {
    writeFileSync(stateFile, JSON.stringify(state(process.pid)));

    const found = stackEnvironment({ PATH: '/bin' }, stateFile);

    expect(found.env).toMatchObject({
      PATH: '/bin',
      AWS_REGION: 'eu-west-1',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8123',
      REDIS_URL: 'redis://127.0.0.1:6400',
      TABLE_VECTOR_EMBEDDINGS: 'VE-dev',
      TABLE_BOT_COLLECTIONS: 'BC-dev',
      TABLE_BOT_DOCUMENTS: 'BD-dev',
      TABLE_DOCUMENT_LEASES: 'DL-dev',
      TABLE_BOT_ALIASES: 'BA-dev',
      TABLE_STREAM_CLAIMS: 'SC-dev',
    });
    expect(found.origin).toContain(`pid ${process.pid}`);
  });

  it('keeps what the environment names itself, and ignores the stack when DYNAMODB_ENDPOINT is set', () => {
    writeFileSync(stateFile, JSON.stringify(state(process.pid)));

    const partly = stackEnvironment({ REDIS_URL: 'redis://elsewhere:1', AWS_REGION: 'us-west-2' }, stateFile);
    expect(partly.env).toMatchObject({ REDIS_URL: 'redis://elsewhere:1', AWS_REGION: 'us-west-2' });
    expect(partly.env.DYNAMODB_ENDPOINT).toBe('http://127.0.0.1:8123');

    const explicit = { DYNAMODB_ENDPOINT: 'http://other:9000' };
    expect(stackEnvironment(explicit, stateFile)).toEqual({
      env: explicit,
      origin: 'DYNAMODB_ENDPOINT from the environment',
    });
  });

  it('ignores the file a killed stack left behind, and a missing or broken file', () => {
    writeFileSync(stateFile, JSON.stringify(state(endedPid())));
    expect(findRunningStack(stateFile)).toBeUndefined();
    expect(stackEnvironment({}, stateFile).env).toEqual({});

    writeFileSync(stateFile, '{"pid":');
    expect(findRunningStack(stateFile)).toBeUndefined();
    expect(findRunningStack(join(dir, 'absent.json'))).toBeUndefined();
  });

  it('names the endpoints it uses, never a Redis password', () => {
    const line = describeEndpoints(
      'doctor',
      { env: { TABLE_VECTOR_EMBEDDINGS: 'VE-dev' }, origin: 'the running npm run dev' },
      { dynamodbEndpoint: 'http://127.0.0.1:8123', redisUrl: 'rediss://u:hunter2@cache:6379', region: 'x' },
    );
    expect(line).toBe(
      '[doctor] using http://127.0.0.1:8123, Redis rediss://u:***@cache:6379, tables VE-dev… (from the running npm run dev)',
    );
    expect(describeEndpoints('doctor', { env: {}, origin: 'AWS' }, { region: 'eu-west-1' })).toBe(
      '[doctor] using AWS DynamoDB in eu-west-1, no Redis (from AWS)',
    );
    expect(redactPassword('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
