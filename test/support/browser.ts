import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import playwright, { type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install -y chromium`; .ci/run installs it when missing). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless, sandbox off (root in CI), nothing that talks to the network on its own. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Every URL the page asked for or showed (requests and navigations), in order. */
  urls: string[];
  /** Every line the page wrote to its console, and uncaught page errors. */
  consoleLines: string[];
  close(): Promise<void>;
}

/** Chromium with a fresh profile (--user-data-dir), recording URLs and console output of its page. */
export async function launchBrowser(viewport = { width: 1280, height: 900 }): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'agent-runs-chromium-'));
  const context = await playwright.chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const urls: string[] = [];
  const consoleLines: string[] = [];
  context.on('request', (request) => urls.push(request.url()));
  page.on('framenavigated', (frame) => urls.push(frame.url()));
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  return {
    context,
    page,
    urls,
    consoleLines,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2 A/AA rules on the current page; returns the serious and critical violations. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  // Evaluated through DevTools, so the page's CSP (no inline script) does not stop it.
  await page.evaluate(axeSource);
  const violations = await page.evaluate<Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>>(
    "axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }).then((r) => r.violations)",
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * Screenshots go to a temporary folder on every run; with UPDATE_SCREENSHOTS=1 they are also copied to
 * docs/console/ (the README shows those), so an ordinary `npm test` never changes tracked files.
 */
export function screenshotFolder(): { path(name: string): string; publish(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'agent-runs-screens-'));
  const taken: string[] = [];
  return {
    path: (name) => {
      taken.push(name);
      return join(dir, name);
    },
    publish: () => {
      if (process.env.UPDATE_SCREENSHOTS === '1') {
        const docs = resolve('docs/console');
        mkdirSync(docs, { recursive: true });
        for (const name of taken) if (existsSync(join(dir, name))) copyFileSync(join(dir, name), join(docs, name));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
