/**
 * Builds the console: one HTML page with its script (Preact + htm, bundled and minified by esbuild)
 * inlined, so it needs nothing from elsewhere. The dev docs server builds it on start with the dev
 * settings (tools/local/console-site.ts); `serverless package` builds it with the deployed ones
 * (infra/console-plugin.js runs this file) into console/dist/index.html, which the httpConsole function
 * serves.
 *
 *   npx tsx console/build.ts     writes console/dist/index.html and prints its size
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Settings } from './src/settings';

/** What the page tells its script (console/src/settings.ts). */
export type ConsoleSettings = Settings;

/** Where the built page lands for packaging (serverless.yml's httpConsole patterns name it). */
export const consolePageFile = join(__dirname, 'dist', 'index.html');

/** The console's script, bundled and minified (every dependency inside). */
export async function buildConsoleScript(): Promise<string> {
  const result = await build({
    entryPoints: [join(__dirname, 'src', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2022'],
    platform: 'browser',
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error('esbuild produced no console script');
  return output.text;
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

/** Bytes of the page gzipped: what a browser downloads. */
export function gzippedBytes(text: string): number {
  return gzipSync(Buffer.from(text, 'utf8'), { level: 9 }).length;
}

/** The page: settings as JSON (escaped for a script element), styles, and the script. */
export function consolePage(script: string, settings: ConsoleSettings): string {
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  const code = script.replace(/<\/script/gi, '<\\/script');
  // Only this page's own script and styles run, and it talks to its own origin only (the API, or the dev
  // proxy): the token it holds cannot be sent anywhere else.
  const policy = [
    "default-src 'none'",
    `script-src '${sha256(code)}'`,
    `style-src '${sha256(STYLES)}'`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>ddb-vector-sync console</title>
<style>${STYLES}</style></head>
<body><div id="app"></div>
<script id="console-settings" type="application/json">${json}</script>
<script>${code}</script>
</body></html>
`;
}

const STYLES = `
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
header a{color:#fff}header h1{font-size:1.1rem;margin:0}main{max-width:1100px;margin:0 auto;padding:1rem}
a{color:#1a55a6}:focus-visible{outline:3px solid #e08a00;outline-offset:2px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.scroll{overflow-x:auto}button{font:inherit;padding:.3rem .7rem;border:1px solid #888;border-radius:4px;background:#fff;cursor:pointer}
button.primary{background:#1a55a6;color:#fff;border-color:#1a55a6}button.danger{background:#b3261e;color:#fff;border-color:#b3261e}
button:disabled{opacity:.5;cursor:default}input,select,textarea{font:inherit;padding:.3rem;border:1px solid #888;border-radius:4px;max-width:100%}
textarea{width:100%}label{display:block;font-weight:600;margin:.5rem 0 .15rem}.inline label{display:inline;font-weight:400}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}.row>*{flex:0 1 auto}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8rem;margin:.8rem 0}
.error{background:#fde7e7;border:1px solid #b3261e;color:#7a1a14;padding:.5rem;border-radius:4px}
.ok{color:#1d6b2f}.warn{color:#8a5a00}.muted{color:#666}nav.tabs{display:flex;flex-wrap:wrap;gap:.5rem;margin:.5rem 0}
nav.tabs a[aria-current=page]{font-weight:700;text-decoration:none;color:#1d1d1f}
pre{background:#f3f3f3;padding:.5rem;overflow:auto;white-space:pre-wrap;word-break:break-word;margin:.3rem 0}
mark{background:#ffe58a}dl.counts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem}dl.counts dd{margin:0}
.hit{border-top:1px solid #ddd;padding:.5rem 0}.scores{font-family:ui-monospace,monospace;font-size:.85rem}
.gap-top{margin-top:.6rem}.token-label{display:inline;margin:0 .4rem 0 0;color:#fff}
dialog{max-width:min(32rem,95vw)}.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
`;

async function main(): Promise<void> {
  const script = await buildConsoleScript();
  const page = consolePage(script, { apiBase: '', devToken: null, devEmbedder: false });
  await mkdir(join(__dirname, 'dist'), { recursive: true });
  await writeFile(consolePageFile, page);
  process.stdout.write(
    `console: wrote ${consolePageFile} (${(page.length / 1024).toFixed(1)} KiB, ${(gzippedBytes(page) / 1024).toFixed(1)} KiB gzipped)\n`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`console build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
