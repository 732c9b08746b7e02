// Serves the bundled browser example on 127.0.0.1 and runs it in headless Chromium (the system's, driven by
// playwright-core), once on each backend (?backend=cpu, ?backend=wasm: its .wasm files in the bundle's wasm/
// folder): it must train its steps with finite losses and leave no tensor behind. Copied into the check's npm
// project and run there, where playwright-core is installed. Prints a one-line summary.
// Usage: node browser.mjs <bundle folder> <chromium executable>
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';

const [bundle, executablePath] = process.argv.slice(2);
const types = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
};

const server = createServer(async (request, response) => {
  const requested = normalize(decodeURIComponent(new URL(request.url, 'http://localhost').pathname));
  const path = requested.endsWith('/') ? `${requested}index.html` : requested;
  try {
    const body = await readFile(join(bundle, path));
    response.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    response.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
/** Runs the example on `backend` in a fresh page; returns its summary, or throws saying what went wrong. */
async function runOn(backend) {
  const pageErrors = [];
  const page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  // Nothing outside this server: the bundle must carry everything it needs.
  await page.route('**/*', (route) =>
    route.request().url().startsWith(url) ? route.continue() : route.abort('blockedbyclient'),
  );
  await page.goto(`${url}?backend=${backend}`);
  await page.waitForFunction(() => window.resnetExample !== undefined, null, { timeout: 300_000 });
  const result = await page.evaluate(() => window.resnetExample);
  await page.close();
  const problems = [];
  if (result.error) problems.push(`the page failed: ${result.error}`);
  else if (result.backend !== backend) problems.push(`ran on ${result.backend}, asked for ${backend}`);
  if (result.losses.length !== 3) problems.push(`${result.losses.length} training steps, expected 3`);
  if (!result.losses.every(Number.isFinite))
    problems.push(`a loss is not finite: ${result.losses.join(', ')}`);
  if (new Set(result.tensorsAfterStep).size > 1) {
    problems.push(`tensors alive after each step: ${result.tensorsAfterStep.join(', ')} (a step leaks)`);
  }
  if (result.tensorsAfter !== result.tensorsBefore) {
    problems.push(`${result.tensorsAfter - result.tensorsBefore} tensors leaked`);
  }
  if (pageErrors.length > 0) problems.push(`errors in the page: ${pageErrors.join(' | ')}`);
  if (problems.length > 0) throw new Error(`${backend}: ${problems.join('; ')} (${JSON.stringify(result)})`);
  return (
    `${result.backend}: ${result.losses.length} steps, losses ` +
    `${result.losses.map((l) => l.toFixed(3)).join(' → ')}, ${result.tensorsAfter - result.tensorsBefore} tensors leaked`
  );
}

try {
  const lines = [];
  for (const backend of ['cpu', 'wasm']) lines.push(await runOn(backend));
  console.log(`Chromium ${browser.version()}, ${lines.join('; ')}`);
} catch (error) {
  console.error(`browser example: ${error.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
