import { count } from './format';
import { type LatencyRow, METHOD_KEYS, METHODS } from './results';

const WIDTH = 860;
const HEIGHT = 460;
const PLOT = { left: 70, right: 560, top: 40, bottom: 400 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
}

function decadeLabel(exponent: number): string {
  const value = 10 ** exponent;
  if (value >= 1000) return `${value / 1000} s`;
  if (value >= 1) return `${value} ms`;
  return `${value.toFixed(-exponent)} ms`;
}

/**
 * Median search latency against N for each method, both axes logarithmic, as a self-contained SVG
 * (no fonts or scripts to load). A thin vertical bar from each median point reaches its p95.
 */
export function latencyChart(rows: LatencyRow[], title: string): string {
  const points = rows.filter((r): r is Extract<LatencyRow, { summary: unknown }> => 'summary' in r);
  const sizes = [...new Set(points.map((p) => p.n))].sort((a, b) => a - b);
  const values = points.flatMap((p) => [p.summary.median, p.summary.p95]).filter((v) => v > 0);
  const yMinExp = Math.floor(Math.log10(Math.min(...values, 1)));
  const yMaxExp = Math.ceil(Math.log10(Math.max(...values, 10)));
  const xMin = Math.log10(Math.min(...sizes, 1000));
  const xMax = Math.max(Math.log10(Math.max(...sizes, 1000)), xMin + 1);
  const x = (n: number) =>
    PLOT.left + ((Math.log10(n) - xMin) / (xMax - xMin)) * (PLOT.right - PLOT.left - 40) + 20;
  const y = (v: number) =>
    PLOT.bottom - ((Math.log10(v) - yMinExp) / (yMaxExp - yMinExp)) * (PLOT.bottom - PLOT.top);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(title)}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  );
  for (let e = yMinExp; e <= yMaxExp; e++) {
    const yy = y(10 ** e).toFixed(1);
    out.push(
      `<line x1="${PLOT.left}" y1="${yy}" x2="${PLOT.right}" y2="${yy}" stroke="#e0e0e0"/>`,
      `<text x="${PLOT.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${decadeLabel(e)}</text>`,
    );
  }
  for (const n of sizes) {
    const xx = x(n).toFixed(1);
    out.push(
      `<line x1="${xx}" y1="${PLOT.top}" x2="${xx}" y2="${PLOT.bottom}" stroke="#e0e0e0"/>`,
      `<text x="${xx}" y="${PLOT.bottom + 18}" text-anchor="middle">${count(n)}</text>`,
    );
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 40}" text-anchor="middle">chunks in the bot (N, log scale)</text>`,
    `<text transform="translate(16 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">median latency, bar to p95 (log scale)</text>`,
  );
  let legendY = PLOT.top + 8;
  for (const method of METHOD_KEYS) {
    const series = points.filter((p) => p.method === method).sort((a, b) => a.n - b.n);
    if (series.length === 0) continue;
    const { color, label } = METHODS[method];
    if (series.length > 1) {
      const path = series.map((p) => `${x(p.n).toFixed(1)},${y(p.summary.median).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const p of series) {
      const xx = x(p.n).toFixed(1);
      out.push(
        `<line x1="${xx}" y1="${y(p.summary.median).toFixed(1)}" x2="${xx}" y2="${y(p.summary.p95).toFixed(1)}" stroke="${color}" stroke-width="1"/>`,
        `<circle cx="${xx}" cy="${y(p.summary.median).toFixed(1)}" r="4" fill="${color}"/>`,
      );
    }
    out.push(
      `<line x1="${PLOT.right + 20}" y1="${legendY}" x2="${PLOT.right + 40}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`,
      `<circle cx="${PLOT.right + 30}" cy="${legendY}" r="4" fill="${color}"/>`,
      `<text x="${PLOT.right + 46}" y="${legendY}" dominant-baseline="middle">${escapeXml(label)}</text>`,
    );
    legendY += 22;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
