/** The demo documents as chunks (one per paragraph, heading kept as the title), shared by the demo and the relevance report. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const DEMO_DOCS_DIR = join(__dirname, 'demo-docs');

export type DemoDocument = {
  filename: string;
  title: string;
  text: string;
  /** Paragraphs in order; chunk i is paragraphs[i]; its embedding is of `${title}. ${paragraph}`. */
  paragraphs: string[];
};

export async function loadDemoDocument(file: string): Promise<DemoDocument> {
  const text = await readFile(join(DEMO_DOCS_DIR, file), 'utf8');
  const title = (/^#\s+(.+)$/m.exec(text)?.[1] ?? file).trim();
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/^#.*$/m, '').replace(/\s+/g, ' ').trim())
    .filter((p) => p !== '');
  return { filename: file, title, text, paragraphs };
}

export async function loadDemoDocuments(): Promise<DemoDocument[]> {
  const files = (await readdir(DEMO_DOCS_DIR)).filter((f) => f.endsWith('.md')).sort();
  return Promise.all(files.map(loadDemoDocument));
}
