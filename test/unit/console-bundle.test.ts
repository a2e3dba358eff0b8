import { buildConsoleScript, consolePage, gzippedBytes } from '../../console/build';

/** The console ships as one page with everything inside; what a browser downloads stays small. */
describe('the console bundle', () => {
  it('builds into one page under 100 KiB gzipped, with nothing loaded from elsewhere', async () => {
    const page = consolePage(await buildConsoleScript(), { apiBase: '', devToken: null, devEmbedder: false });
    const gzipped = gzippedBytes(page);
    process.stdout.write(
      `console page: ${(page.length / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped\n`,
    );
    expect(gzipped).toBeLessThan(100 * 1024);
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/);
  });

  it('escapes the settings it writes into the page', () => {
    const page = consolePage('', {
      apiBase: '</script><script>alert(1)</script>',
      devToken: null,
      devEmbedder: false,
    });
    expect(page).not.toContain('</script><script>alert(1)');
  });
});
