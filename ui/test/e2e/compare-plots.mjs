// Browser test of the compare view's result pictures: a real bench run
// from the view (three runs a transport, so that there are ranges), then
// the plots' canvases read back pixel by pixel, the verdict lines and the
// rows' tooltips. Registered by run.mjs, which owns the server and browser.

import { join } from 'node:path';
import { artifacts, assert, openPage, until } from './harness.mjs';

/** Counts, on every canvas under selector, the pixels near each of colours (CSS colours). */
async function paintedPixels(page, selector, colours) {
  return page.evaluate(
    ({ selector, colours }) => {
      const rgb = (css) => {
        const c = document.createElement('canvas').getContext('2d');
        c.fillStyle = css;
        c.fillRect(0, 0, 1, 1);
        return [...c.getImageData(0, 0, 1, 1).data.slice(0, 3)];
      };
      const targets = colours.map(rgb);
      return [...document.querySelectorAll(selector)].map((cv) => {
        const { data } = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height);
        const counts = targets.map(() => 0);
        let painted = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3] === 0) continue;
          painted++;
          targets.forEach(([r, g, b], k) => {
            if (data[i + 3] > 200 && Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) counts[k]++;
          });
        }
        return { figure: cv.closest('figure')?.dataset.figure, painted, counts };
      });
    },
    { selector, colours },
  );
}

export function registerComparePlots({ test, browser, server, noErrors }) {
  test(
    'the compare view shows a bench result as pictures: latency CDFs, bars with whiskers, verdicts, tooltips',
    async () => {
      // Tall enough to show the whole result without scrolling, for the picture.
      const ctx = await browser.newContext({ viewport: { width: 1600, height: 2400 } });
      const page = await openPage(ctx, server.url + '/compare');
      await page.fill('input[name=clients]', '5');
      await page.fill('input[name=duration]', '1');
      await page.fill('input[name=rate]', '200');
      await page.fill('input[name=runs]', '3');
      // A run from another test may still be ending: try until one starts.
      await until('a bench run to start', async () => {
        if (!(await page.isEnabled('.bench-form button[type=submit]'))) return false;
        await page.click('.bench-form button[type=submit]');
        await page.waitForTimeout(300);
        return !/already in progress/.test(await page.textContent('.bench-status'));
      }, 60000, 1000);
      await until('progress at 100%', async () => (await page.textContent('.bar-text')) === '100%', 120000, 250);
      await until('the plots', async () => (await page.$$('.bench-plots canvas')).length >= 5, 10000);
      await page.waitForTimeout(300); // uPlot paints on the next frame

      const colours = await page.evaluate(() => ['--accent', '--warn'].map((v) => getComputedStyle(document.documentElement).getPropertyValue(v).trim()));
      const plots = await paintedPixels(page, '.bench-plots canvas', colours);
      const byFigure = Object.fromEntries(plots.map((p) => [p.figure, p]));
      const cdf = byFigure.latencyCdf;
      assert(cdf && cdf.counts[0] > 50 && cdf.counts[1] > 50, `the CDF canvas has both transports' lines: ${JSON.stringify(cdf)}`);
      for (const f of ['serverCpuSecondsPerMillionEvents', 'bytesPerEvent', 'serverMemoryPerClientBytes', 'serverRssPerClientBytes']) {
        const p = byFigure[f];
        assert(p && p.painted > 500, `a bar plot for ${f}: ${JSON.stringify(p)}`);
      }
      // CPU and bytes are never zero: both bars are there, in each side's colour.
      for (const f of ['serverCpuSecondsPerMillionEvents', 'bytesPerEvent']) {
        assert(byFigure[f].counts[0] > 30 && byFigure[f].counts[1] > 30, `both bars of ${f}: ${JSON.stringify(byFigure[f])}`);
      }

      // A verdict line per compared figure, visible.
      const verdicts = await page.$$eval('.verdicts li', (els) => els.map((e) => ({ text: e.innerText, shown: e.offsetParent !== null })));
      assert(verdicts.length >= 8, `verdict lines: ${JSON.stringify(verdicts)}`);
      for (const v of verdicts) {
        assert(v.shown && /^[^:]+: (within noise|WebSocket.+ than SSE|the same)/.test(v.text), `a verdict line: ${JSON.stringify(v)}`);
      }
      assert(/bytes on the wire per event: /.test(await page.innerText('.verdicts')), 'a verdict on bytes per event');

      // Every row says how it is measured; the ranges of 3 runs are shown.
      const rows = await page.$$eval('table.result tbody tr', (trs) => trs.map((tr) => ({ label: tr.firstChild.textContent, title: tr.title, ranges: tr.querySelectorAll('.range').length })));
      assert(rows.length >= 15, `table rows: ${rows.length}`);
      for (const r of rows) assert(r.title.length > 20, `row ${r.label} has a tooltip: ${JSON.stringify(r)}`);
      const p50 = rows.find((r) => r.label === 'Latency p50');
      assert(p50 && p50.ranges === 2, `the p50 row shows both ranges: ${JSON.stringify(p50)}`);
      // The figures' tooltips too.
      const figTitles = await page.$$eval('.bench-plots figure', (fs) => fs.map((f) => f.title));
      assert(figTitles.length >= 5 && figTitles.every((t) => t.length > 20), `plot tooltips: ${JSON.stringify(figTitles)}`);

      // "(shared process)" is explained where it appears.
      const shared = await page.innerText('.shared-note');
      assert(/\(shared process\)/.test(shared) && /include/.test(shared) && /tickertape bench/.test(shared), `the shared-process note: ${shared}`);
      assert(/Machine: .+ cores, GOMAXPROCS \d+, go\d/.test(await page.innerText('.bench-about')), 'the machine is shown');

      await page.locator('section.bench').screenshot({ path: join(artifacts, 'compare-plots.png') });
      page.errors = page.errors.filter((e) => !/status of 409 \(Conflict\)/.test(e));
      noErrors(page);
      await ctx.close();
    },
    {
      timeout: 180000,
      skip: async () => {
        // A GET on the POST-only route answers 405; an unknown path 404.
        const res = await fetch(server.url + '/api/bench', { method: 'GET' }).catch(() => null);
        return res && res.status !== 404 ? null : 'POST /api/bench is missing on the server (404)';
      },
    },
  );
}
