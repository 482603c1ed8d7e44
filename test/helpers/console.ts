import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { axeViolations, onServer, screenshot } from './chromium.js';
import type { TestServer } from './server.js';

/** The console as a person uses it: pages found by their accessible names, never by CSS classes. */

export const PASSWORD = 'correct horse battery';

/** A new invite link for an existing user, asked of the API with an admin's token. */
export async function inviteLink(server: TestServer, adminToken: string, userId: string): Promise<string> {
  const reply = await server.request('POST', `/api/v1/users/${userId}/invite`, { token: adminToken });
  assert.equal(reply.status, 200, reply.text);
  return onServer(server.url, reply.json.inviteUrl as string);
}

/** Opens an invite link, sets the password, and lands on the sessions list, signed in. */
export async function acceptInvite(context: BrowserContext, link: string, password = PASSWORD): Promise<Page> {
  const page = await context.newPage();
  await page.goto(link);
  await page.getByLabel('New password').fill(password);
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** No axe violation on the page as it is now, and a screenshot of it for the reviewer. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `axe on ${name}:\n${violations.join('\n')}`);
  await screenshot(page, name);
}

export async function openNav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await page.locator('h1').first().waitFor();
}

/** Presses Tab until the focused element's accessible name matches, as a keyboard user does. */
export async function tabTo(page: Page, name: RegExp, limit = 80): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    // Runs in the page: the focused element's aria-label, its <label>, and its text.
    const focused = await page.evaluate<string>(`(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return '';
      const labelled = el.id ? document.querySelector('label[for="' + el.id + '"]')?.textContent : null;
      return [el.getAttribute('aria-label'), labelled, el.textContent].filter(Boolean).join(' ').trim();
    })()`);
    if (name.test(focused)) return;
  }
  throw new Error(`Tab never reached ${name}`);
}
