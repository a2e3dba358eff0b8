import { setTimeout as sleep } from 'node:timers/promises';
/**
 * `npm run load:dev -- [--chunks=20000] [--concurrent=200] [--rounds=3]`: measures what `npm run dev`
 * holds under a spike. It starts its own dev stack (DynamoDB Local in memory, its own redis-server,
 * serverless-offline behind the invocation gate, the stream runner), loads a bot of `chunks` 384-d chunks
 * through the HTTP API, waits until the stream counted them, then sends `concurrent` searches at once,
 * `rounds` times. It prints every status, latency percentiles and serverless-offline's peak RSS
 * (VmHWM: its handler instances are threads of that process).
 */
import '../local/quiet-sdk-notice';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type DevStack, startDevStack } from '../local/dev-stack';

const DIM = 384;
const CHUNKS_PER_DOCUMENT = 200;

const USAGE = 'usage: npm run load:dev -- [--chunks=20000] [--concurrent=200] [--rounds=3]';

type LoadFlags = { chunks: number; concurrent: number; rounds: number };

/** The flags, or null for --help. @throws Error naming an unknown flag or a value that is not a count. */
function parseFlags(argv: string[]): LoadFlags | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      chunks: { type: 'string', default: '20000' },
      concurrent: { type: 'string', default: '200' },
      rounds: { type: 'string', default: '3' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return null;
  const count = (name: 'chunks' | 'concurrent' | 'rounds'): number => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`--${name} must be a positive integer; got ${values[name]}`);
    }
    return value;
  };
  return { chunks: count('chunks'), concurrent: count('concurrent'), rounds: count('rounds') };
}

/** A deterministic pseudo-random vector (xorshift), so runs compare. */
function vector(seed: number): number[] {
  let state = (seed * 2654435761) >>> 0 || 1;
  return Array.from({ length: DIM }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 2 ** 32) * 2 - 1;
  });
}

function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return Number(line?.[1]) / 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags === null) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { chunks, concurrent, rounds } = flags;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const stack: DevStack = await startDevStack({
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_REGION: 'us-east-1' },
    log: (line) => log(`[dev] ${line}`),
    offlineOutput: (line) => log(`[offline] ${line}`),
  });
  try {
    const send = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${stack.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const botId = 'load-bot';
    const put = await send('PUT', `/bots/${botId}`, { embedding_dimension: DIM });
    if (put.status !== 201) throw new Error(`PUT /bots/${botId} answered ${put.status}`);
    const documents = Math.ceil(chunks / CHUNKS_PER_DOCUMENT);
    const started = Date.now();
    for (let d = 0; d < documents; d++) {
      const size = Math.min(CHUNKS_PER_DOCUMENT, chunks - d * CHUNKS_PER_DOCUMENT);
      const written = await send('POST', `/bots/${botId}/documents`, {
        filename: `doc-${d}.md`,
        file_size: 1,
        chunks: Array.from({ length: size }, (_, c) => ({
          chunk_index: c,
          text: `document ${d} chunk ${c}`,
          embedding: vector(d * CHUNKS_PER_DOCUMENT + c + 1),
        })),
      });
      if (written.status !== 200)
        throw new Error(`upload ${d} answered ${written.status}: ${JSON.stringify(written.json)}`);
      const done = (d + 1) * CHUNKS_PER_DOCUMENT;
      const rate = done / ((Date.now() - started) / 1000);
      if ((d + 1) % 10 === 0 || d + 1 === documents) {
        log(
          `loaded ${Math.min(done, chunks)}/${chunks} chunks (${rate.toFixed(0)}/s, about ${Math.ceil((chunks - done) / rate)} s left)`,
        );
      }
    }
    for (;;) {
      const bot = await send('GET', `/bots/${botId}`);
      log(`stream counted ${String(bot.json.total_chunks)}/${chunks}`);
      if (bot.json.total_chunks === chunks) break;
      await sleep(2000);
    }
    const pid = stack.offlinePid as number;
    log(`serverless-offline peak RSS after loading: ${peakRssMiB(pid).toFixed(0)} MiB`);
    for (let round = 1; round <= rounds; round++) {
      const statuses = new Map<number, number>();
      const latencies: number[] = [];
      const sources = new Map<string, number>();
      await Promise.all(
        Array.from({ length: concurrent }, async (_, i) => {
          const t0 = performance.now();
          const answer = await send('POST', `/bots/${botId}/search`, {
            embedding: vector(1_000_000 + i),
            limit: 10,
          });
          latencies.push(performance.now() - t0);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const source = String(answer.json.source);
          sources.set(source, (sources.get(source) ?? 0) + 1);
        }),
      );
      latencies.sort((a, b) => a - b);
      log(
        `round ${round}: ${concurrent} concurrent searches of ${chunks} chunks: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
          `sources ${JSON.stringify(Object.fromEntries(sources))}, latency p50 ${percentile(latencies, 50).toFixed(0)} ms, ` +
          `p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${latencies.at(-1)?.toFixed(0)} ms; ` +
          `serverless-offline peak RSS ${peakRssMiB(pid).toFixed(0)} MiB`,
      );
    }
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `load:dev failed: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`,
  );
  process.exitCode = 1;
});
