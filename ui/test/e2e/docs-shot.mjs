// Takes the README's picture (docs/dashboard.png): the board after a minute
// of trading, with one-second candles. `node test/e2e/docs-shot.mjs`
import { join } from 'node:path';
import { launch, openPage, repoDir, startServer, until } from './harness.mjs';

const server = await startServer({ args: ['-rate', '60'] });
const browser = await launch();
try {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await openPage(ctx, server.url + '/');
  await until('the board', async () => (await page.$$('.wl-body .wl-row:not([hidden])')).length > 20);
  await page.click('.intervals button:text("1s")');
  await page.waitForTimeout(Number(process.env.WAIT ?? 60000));
  await page.mouse.move(1300, 250); // the crosshair legend
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(repoDir, 'docs', 'dashboard.png') });
  if (page.errors.length) throw new Error(page.errors.join('\n'));
  console.log('docs/dashboard.png written');
} finally {
  await browser.close();
  await server.stop();
}
