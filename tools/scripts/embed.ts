/**
 * `npm run -s embed -- "some text"`: prints the development embedder's vector for the text
 * (tools/local/dev-embedder.ts, the one `npm run demo` uses) as a JSON array, so a vector search is one pipe
 * away. `--search` prints a whole search body instead (`{"embedding":[...],"limit":5}`), and
 * `--document NAME` an upload body with one chunk per text:
 *
 *   npm run -s embed -- --search "how are retries handled" | curl ... -d @- $API/bots/my-bot/search
 */
import { parseArgs } from 'node:util';
import { DEV_EMBEDDING_DIMENSION, devEmbed } from '../../src/domain/dev-embedder';

const USAGE =
  'usage: npm run -s embed -- [--search [--limit N] | --document NAME] [--dimension 384] "text" ["text" ...]';

/** What the command prints for its arguments (one JSON document). @throws Error naming a bad argument. */
export function embedOutput(argv: string[]): unknown {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      search: { type: 'boolean', default: false },
      limit: { type: 'string', default: '5' },
      document: { type: 'string' },
      dimension: { type: 'string', default: String(DEV_EMBEDDING_DIMENSION) },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length === 0) throw new Error('give the text to embed');
  const dimension = Number(values.dimension);
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 65_536) {
    throw new Error(`--dimension must be an integer from 1 to 65536; got ${values.dimension}`);
  }
  const embed = (text: string) => devEmbed(text, dimension);
  if (values.document !== undefined) {
    return {
      filename: values.document,
      file_size: Buffer.byteLength(positionals.join('\n'), 'utf8'),
      chunks: positionals.map((text, chunkIndex) => ({
        chunk_index: chunkIndex,
        text,
        embedding: embed(text),
      })),
    };
  }
  const text = positionals.join(' ');
  if (!values.search) return embed(text);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`--limit must be a positive integer; got ${values.limit}`);
  return { embedding: embed(text), limit };
}

if (require.main === module) {
  if (process.argv.includes('--help')) process.stdout.write(`${USAGE}\n`);
  else {
    try {
      process.stdout.write(`${JSON.stringify(embedOutput(process.argv.slice(2)))}\n`);
    } catch (error) {
      process.stderr.write(`embed: ${(error as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
    }
  }
}
