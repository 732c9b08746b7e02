// Training speed of the page in headless Chromium: the two Table 2 rows (original and full pre-activation) at
// ResNet-20, mini-batch 32, trained side by side on generated images for 40 iterations each, on wasm with 1
// and with every core's thread (?threads=), and with ?backend=cpu. Prints the page's images/s (both rows'
// images over the time spent training, the final evaluation of 40 test images included). Compare with
// `pnpm --filter bench start -- perf --models preact-resnet20 --batch 32` run beside it (README, "Speed").
// Usage: pnpm --filter web speed [query …]   (default: the three below; run under `flock /work/cpu.lock` on a
// shared machine)
import { buildAndServe, launchChromium, loadGeneratedImages } from '../test/serve.js';

const served = await buildAndServe();
const browser = await launchChromium();
try {
  const queries = process.argv.slice(2);
  for (const query of queries.length > 0
    ? queries
    : ['?backend=wasm&threads=1', '?backend=wasm&threads=2', '?backend=cpu']) {
    const page = await browser.newPage();
    await page.goto(`${served.url}${query}`);
    await page.waitForFunction(() => window.resnetWeb?.backend !== undefined);
    await loadGeneratedImages(page, 1000, 40);
    await page.selectOption('#depth', '20');
    await page.fill('#batch', '32');
    await page.fill('#iterations', query.includes('cpu') ? '4' : '40');
    await page.fill('#evaluate-every', '1000');
    await page.fill('#test-images', '40');
    await page.click('#start');
    await page.waitForFunction(
      () => window.resnetWeb.state === 'done' || window.resnetWeb.errors.length > 0,
      null,
      {
        timeout: 1_800_000,
      },
    );
    const state = await page.evaluate(() => structuredClone(window.resnetWeb));
    if (state.errors.length > 0) throw new Error(state.errors.join('; '));
    console.log(
      `${query}: ${state.backend!.name}, ${state.backend!.threads ?? '-'} thread(s): ` +
        `${state.speed!.imagesPerSecond.toFixed(1)} images/s (${state.speed!.iterationsDone} iterations of 32, both rows)`,
    );
    await page.close();
  }
  console.log(`Chromium ${browser.version()}`);
} finally {
  await browser.close();
  await served.close();
}
