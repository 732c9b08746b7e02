// The page as a user gets it: built by Vite into a temporary folder and served by `vite preview` on
// 127.0.0.1 (with the COOP/COEP headers of vite.config.ts), and Debian's Chromium driven by playwright-core.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';

export const chromiumPath = process.env['CHROMIUM'] ?? '/usr/bin/chromium';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Builds the page and serves the build on a free port of 127.0.0.1. */
export async function buildAndServe(): Promise<Served> {
  const outDir = await mkdtemp(join(tmpdir(), 'resnet-web-'));
  const config = { root, configFile: join(root, 'vite.config.ts'), logLevel: 'warn' as const };
  await build({ ...config, build: { outDir, emptyOutDir: true } });
  const server: PreviewServer = await preview({
    ...config,
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
  });
  const address = server.httpServer.address();
  if (address === null || typeof address === 'string') throw new Error('vite preview has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: async () => {
      await server.close();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

/** Headless Chromium with nothing reaching outside (no background networking, updates or first-run pages). */
export function launchChromium(extraArgs: string[] = [], env?: Record<string, string>): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      ...extraArgs,
    ],
    ...(env ? { env: { ...process.env, ...env } as Record<string, string> } : {}),
  });
}

/** Loads `train` and `test` generated images in the page (its first panel) and waits until they are read. */
export async function loadGeneratedImages(page: Page, train: number, test: number): Promise<void> {
  await page.fill('#synthetic-train', String(train));
  await page.fill('#synthetic-test', String(test));
  await page.click('#load-data');
  await page.waitForFunction(() => window.resnetWeb.data !== undefined || window.resnetWeb.errors.length > 0);
}
