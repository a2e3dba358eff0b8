import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableKeys } from '../../src/tables/definition';
import { localstackDeployEnvironment } from '../../tools/scripts/localstack-deploy';
import { composedLocalStack, interpolate } from '../fixtures/compose';

/** localstack/docker-compose.yml as compose reads it, and `npm run localstack:deploy`'s environment. */
const initScript = readFileSync(
  join(__dirname, '..', '..', 'localstack', 'init', 'ready.d', '10-create-tables.sh'),
  'utf8',
);
/** TABLE_VECTOR_EMBEDDINGS for VectorEmbeddings, and so on. */
const variableOf = (key: string) => `TABLE_${key.replace(/(?<=[a-z])(?=[A-Z])/g, '_').toUpperCase()}`;

describe('the LocalStack compose file', () => {
  it('interpolates as compose does', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's syntax, not a template
    expect(interpolate('${A:-x}/${B-y}/${C}', { A: '', B: '', C: 'c' })).toBe('x//c');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's syntax, not a template
    expect(() => interpolate('${T:?set T}', {})).toThrow('set T');
  });

  it('starts from a shell without LOCALSTACK_AUTH_TOKEN on a pinned image', () => {
    const service = composedLocalStack({});
    expect(service.image).toMatch(/^localstack\/localstack:\d+\.\d+\.\d+$/);
    expect(service.environment.LOCALSTACK_AUTH_TOKEN).toBe('');
  });

  it('passes a token and another tag on when the shell sets them', () => {
    const service = composedLocalStack({ LOCALSTACK_AUTH_TOKEN: 'ls-abc', LOCALSTACK_IMAGE_TAG: '2026.5.0' });
    expect(service.image).toBe('localstack/localstack:2026.5.0');
    expect(service.environment.LOCALSTACK_AUTH_TOKEN).toBe('ls-abc');
  });

  it('passes every table name the init script reads on to it, with the same defaults', () => {
    const names = Object.fromEntries(tableKeys.map((key) => [variableOf(key), `${key}-custom`]));

    expect(composedLocalStack(names).environment).toMatchObject(names);
    const defaults = composedLocalStack({}).environment;
    for (const key of tableKeys) {
      expect(defaults[variableOf(key)]).toBe(key);
      expect(initScript).toContain(`"\${${variableOf(key)}:-${key}}"`);
    }
  });
});

describe('npm run localstack:deploy', () => {
  it('refuses to deploy without a signing key the handlers can verify tokens with', () => {
    expect(() => localstackDeployEnvironment({})).toThrow(/set LOCAL_JWT_SECRET \(32\+ characters\)/);
    expect(() => localstackDeployEnvironment({ LOCAL_JWT_SECRET: 'short' })).toThrow(/LOCAL_JWT_SECRET/);
  });

  it('keeps the key and drops DYNAMODB_ENDPOINT, which LocalStack sets inside its Lambda containers', () => {
    const env = localstackDeployEnvironment({
      LOCAL_JWT_SECRET: 'k'.repeat(32),
      DYNAMODB_ENDPOINT: 'http://localhost:8000',
      PATH: '/bin',
    });
    expect(env).toEqual({
      LOCAL_JWT_SECRET: 'k'.repeat(32),
      PATH: '/bin',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
    });
  });
});
