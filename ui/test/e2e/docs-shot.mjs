// Takes the docs' pictures from a real run: docs/dashboard.png (the board at
// 1600×1000, a fresh server whose chart opens on the morning's history) and
// docs/dashboard-phone.png (the board on a 390×844 phone).
//
//   node test/e2e/docs-shot.mjs          (WAIT=ms of live trading first, default 8000)
import { join } from 'node:path';
import { launch, openPage, repoDir, startServer, until } from './harness.mjs';

const server = await startServer({ args: ['-rate', '60'] });
const browser = await launch();
const wait = Number(process.env.WAIT ?? 8000);
try {
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await openPage(ctx, server.url + '/');
  await until('the board', async () => (await page.$$('.wl-body .wl-row')).length > 20);
  await page.waitForTimeout(wait);
  const box = await page.locator('.chart-box').boundingBox();
  await page.mouse.move(box.x + box.width * 0.62, box.y + box.height * 0.35); // the crosshair legend
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(repoDir, 'docs', 'dashboard.png') });
  if (page.errors.length) throw new Error(page.errors.join('\n'));
  console.log('docs/dashboard.png written');

  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p = await openPage(phone, server.url + '/');
  await until('the phone board', async () => (await p.$$('.wl-body .wl-row')).length > 8);
  await p.waitForTimeout(3000);
  await p.screenshot({ path: join(repoDir, 'docs', 'dashboard-phone.png') });
  if (p.errors.length) throw new Error(p.errors.join('\n'));
  console.log('docs/dashboard-phone.png written');
} finally {
  await browser.close();
  await server.stop();
}
