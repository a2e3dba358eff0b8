import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createRedisClient } from '../../../src/redis-client';
import { RedisSnapshotStore } from '../../../src/snapshot';
import { type BenchContext, DIMENSION } from '../context';
import { count } from '../format';
import type { MemoryChildInput, MemoryChildOutput } from '../memory-child';

function runChild(input: MemoryChildInput, variables: Record<string, string>): Promise<MemoryChildOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '..', 'memory-child.ts'), JSON.stringify(input)],
      {
        env: { ...process.env, ...variables },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`memory child exited with ${code}: ${stderr.slice(-1000)}`));
        return;
      }
      resolve(JSON.parse(line) as MemoryChildOutput);
    });
  });
}

/**
 * Peak RSS of the search path at each size: a fresh Node process that searches a published snapshot
 * (one cold search, then warm ones) and reports its peak RSS before and after (see memory-child.ts for
 * why Linux's VmHWM rather than maxRSS).
 */
export async function memory(context: BenchContext, sizes: number[]): Promise<void> {
  const redis = createRedisClient(context.env.stack.redis.url);
  const store = new RedisSnapshotStore(redis, context.env.config.redisKeyPrefix);
  try {
    for (const n of sizes) {
      const botId = await context.snapshotBot(store, context.env.stack.redis.url, n);
      context.progress.note(`memory at ${count(n)}: searching the snapshot in a child process`);
      const output = await runChild(
        {
          botId,
          n,
          seed: context.options.seed,
          queries: 20,
          dimension: DIMENSION,
        },
        context.env.variables,
      );
      const row = {
        n,
        idleRssMiB: output.idleMaxRssKiB / 1024,
        peakRssMiB: output.peakMaxRssKiB / 1024,
        note: `${output.source}; 1 cold + ${output.searches - 1} warm searches; vectors alone ${((n * DIMENSION * 4) / 2 ** 20).toFixed(0)} MiB`,
      };
      context.results.memory.push(row);
      context.progress.note(
        `memory at ${count(n)}: ${row.idleRssMiB.toFixed(0)} MiB before searching, peak ${row.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  } finally {
    redis.disconnect();
  }
}
