import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve('test-output', 'screenshots');

/** Null when Debian's Chromium is installed; otherwise why not. Under CI its absence fails the run. */
export function chromiumUnavailable(): string | null {
  if (fs.existsSync(CHROMIUM)) return null;
  const reason = `Chromium is not installed at ${CHROMIUM} (apt-get install -y chromium)`;
  if (process.env.CI) throw new Error(`CI requires Chromium: ${reason}`);
  process.stdout.write(`# skipping browser cases: ${reason}\n`);
  return reason;
}

/** The system's Chromium, never a downloaded browser. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** axe-core's WCAG 2.x A and AA rules (2.2 included) on the page as it is now: the violations, described. */
export async function axeViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  return result.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help} — ${v.nodes
        .slice(0, 3)
        .map((n) => n.target.join(' '))
        .join(' | ')}`,
  );
}

/** A full-page screenshot for a reviewer to look at; the folder is git-ignored. */
export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The path and query of an invite link, which names PUBLIC_URL, on the test server's own origin. */
export function onServer(serverUrl: string, link: string): string {
  const url = new URL(link);
  return serverUrl + url.pathname + url.search;
}

/** Every console call's failures the page logged: a page that fails silently still fails the test. */
export function watchPageErrors(page: Page, into: string[]): void {
  page.on('pageerror', (error) => into.push(`${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    // The browser logs every non-2xx fetch; those the console shows are expected (401 after sign-out, 403, 404).
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) into.push(`${page.url()}: ${message.text()}`);
  });
}
