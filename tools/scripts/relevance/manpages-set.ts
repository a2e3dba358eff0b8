/**
 * A known-item retrieval set from public documents that Debian installs: the pages of the Linux
 * man-pages project in `manpages-dev` (sections 2 and 3, system calls and library functions). Each page's
 * NAME line ends in a one-line description ("open and possibly create a file"); that description is the
 * query and the page it describes is the relevant document. The NAME section itself is not indexed, so a
 * query never meets its own words there. Pages are rendered with groff, cut into chunks of about 600
 * characters along paragraph breaks (as the ingestion pipeline cuts documents), and kept under .local/ per
 * package version, so a second run reads the cache.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { RelevanceSet } from './relevance-set';

const run = promisify(execFile);
const PACKAGE = 'manpages-dev';
const CHUNK_CHARS = 600;

/** Reads the cached set for the installed package version, or builds it (about 20 s) and caches it. */
export async function manpagesSet(cacheDir: string, progress: (line: string) => void): Promise<RelevanceSet> {
  const version = await packageVersion();
  const cache = join(cacheDir, `${PACKAGE}-${version}.json`);
  try {
    return JSON.parse(await readFile(cache, 'utf8')) as RelevanceSet;
  } catch {
    // Not built yet for this version.
  }
  const files = await pageFiles();
  const chunks: RelevanceSet['chunks'] = [];
  const described = new Map<string, string[]>();
  const started = performance.now();
  for (const [i, file] of files.entries()) {
    const page = basename(file, '.gz');
    const rendered = await render(file);
    const parsed = parsePage(rendered);
    if (parsed !== null) {
      for (const [n, text] of chunksOf(parsed.body).entries()) {
        chunks.push({ id: `${page}#${n}`, document: page, text });
      }
      const key = parsed.description.toLowerCase();
      described.set(key, [...(described.get(key) ?? []), page]);
    }
    const done = i + 1;
    if (done % 50 === 0 || done === files.length) {
      const seconds = (performance.now() - started) / 1000;
      const rate = done / seconds;
      progress(
        `rendering ${PACKAGE} ${version}: ${done}/${files.length} pages, ${rate.toFixed(0)} pages/s, ETA ${Math.ceil((files.length - done) / rate)} s`,
      );
    }
  }
  const queries = [...described.entries()]
    .map(([query, documents]) => ({ query, relevant: documents.sort() }))
    .sort((a, b) => (a.relevant[0] as string).localeCompare(b.relevant[0] as string));
  const set: RelevanceSet = {
    name: 'manpages',
    source: `Debian ${PACKAGE} ${version} (Linux man-pages, sections 2 and 3)`,
    unit: 'page',
    chunks,
    queries,
  };
  await mkdir(dirname(cache), { recursive: true });
  await writeFile(cache, JSON.stringify(set));
  return set;
}

async function packageVersion(): Promise<string> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', `-f=\${Version}`, PACKAGE]);
    if (stdout.trim() !== '') return stdout.trim();
  } catch {
    // Reported below.
  }
  throw new Error(
    `the manpages set reads Debian's ${PACKAGE} package: install it (apt-get install ${PACKAGE})`,
  );
}

/** The package's own pages of sections 2 and 3: no symlinks, no `.so` redirects to another page. */
async function pageFiles(): Promise<string[]> {
  const { stdout } = await run('dpkg', ['-L', PACKAGE], { maxBuffer: 16 * 1024 * 1024 });
  const files: string[] = [];
  for (const path of stdout.split('\n')) {
    if (!/\/man[23]\/[^/]+\.gz$/.test(path)) continue;
    if ((await lstat(path)).isSymbolicLink()) continue;
    const source = gunzipSync(await readFile(path)).toString('utf8');
    if (
      /^\.so /m.test(
        source.split('\n').find((line) => !line.startsWith('.\\"') && !line.startsWith('\'\\"')) ?? '',
      )
    )
      continue;
    files.push(path);
  }
  return files.sort();
}

/** The page as plain text: no hyphenation, no line filling (one line a paragraph), no overstriking. */
async function render(file: string): Promise<string> {
  const source = gunzipSync(await readFile(file));
  return new Promise((resolve, reject) => {
    const child = execFile(
      'groff',
      ['-man', '-Tutf8', '-P-cbou', '-rHY=0', '-rLL=2000n', '-t'],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout) =>
        error === null ? resolve(stdout) : reject(new Error(`groff failed on ${file}: ${error.message}`)),
    );
    child.stdin?.end(source);
  });
}

/** The NAME line's description and the paragraphs of every other section; null for a page without one. */
export function parsePage(rendered: string): { description: string; body: string[] } | null {
  const lines = rendered.split('\n');
  // The first and last non-empty lines are the page's header and footer.
  const first = lines.findIndex((line) => line.trim() !== '');
  let last = lines.length - 1;
  while (last > first && (lines[last] as string).trim() === '') last--;
  let section = '';
  let description: string | undefined;
  const body: string[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length > 0 && section !== 'NAME') body.push(paragraph.join(' '));
    paragraph = [];
  };
  for (const line of lines.slice(first + 1, last)) {
    if (/^[A-Z][A-Z0-9 ]*$/.test(line.trimEnd())) {
      flush();
      section = line.trim();
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (section === 'NAME' && description === undefined) {
      const match = /\s[-\u2212\u2010]\s+(.+)$/.exec(line.trim());
      if (match !== null) description = (match[1] as string).trim();
    }
    paragraph.push(line.trim());
  }
  flush();
  return description === undefined || body.length === 0 ? null : { description, body };
}

/** Paragraphs packed into chunks of about CHUNK_CHARS; a longer paragraph is cut at spaces. */
export function chunksOf(paragraphs: readonly string[]): string[] {
  const chunks: string[] = [];
  let current = '';
  const push = (text: string) => {
    if (current !== '' && current.length + 1 + text.length > CHUNK_CHARS) {
      chunks.push(current);
      current = '';
    }
    current = current === '' ? text : `${current}\n${text}`;
  };
  for (const paragraph of paragraphs) {
    let rest = paragraph;
    while (rest.length > CHUNK_CHARS) {
      const cut = rest.lastIndexOf(' ', CHUNK_CHARS);
      const at = cut > CHUNK_CHARS / 2 ? cut : CHUNK_CHARS;
      push(rest.slice(0, at));
      rest = rest.slice(at).trimStart();
    }
    if (rest !== '') push(rest);
  }
  if (current !== '') chunks.push(current);
  return chunks;
}
