import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumUnavailable, launchChromium, SCREENSHOTS, watchPageErrors } from './helpers/chromium.js';
import { ManualClock } from './helpers/clock.js';
import { acceptInvite, checkPage, inviteLink, openNav } from './helpers/console.js';
import { eventually, pollUntil } from './helpers/deadline.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { WebhookReceiver } from './helpers/webhook-receiver.js';

/**
 * SPEC §11 in the console: an admin adds a webhook endpoint pointing at a real receiver, sees its
 * secret once, sends a test event, reads the delivery in the log and redelivers it; every person
 * turns their notification mails off on /me; the console's language becomes the mails' language.
 * Screenshots in English and Korean.
 */

const skip = chromiumUnavailable();

interface Preferences {
  emailNotifications: boolean;
  language: 'en' | 'ko' | null;
}

/** The person's own settings as the server has them, asked with the page's own session. */
function preferencesOf(page: Page): Promise<Preferences> {
  return page.evaluate(async () => (await (await fetch('/api/v1/me')).json()) as Preferences);
}

async function waitForPreferences(page: Page, want: (p: Preferences) => boolean, what: string): Promise<Preferences> {
  let last: Preferences | undefined;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    last = await preferencesOf(page);
    if (want(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: the server still has ${JSON.stringify(last)}`);
}

describe('console: webhooks and my settings', { skip: skip ?? false }, () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let browser: Browser;
  let org: { orgId: string; userId: string; token: string };
  const errors: string[] = [];

  before(async () => {
    receiver = await new WebhookReceiver().start();
    server = await startTestServer({
      clock: new ManualClock(Date.now()),
      configure: (c) => ({
        ...c,
        // The product's own 15 s for an answer: the receiver runs in this process, which the suite's
        // files in parallel can starve for seconds, and a 2 s limit then logged the 500 below as no answer.
        events: { ...c.events, allowPrivate: true, pollMs: 25, retryScheduleSeconds: [1, 1, 1] },
      }),
    });
    org = await server.createOrg('Northwind Support');
    browser = await launchChromium();
    process.stdout.write(`# screenshots in ${SCREENSHOTS}\n`);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await receiver?.close();
  });

  test('an admin adds an endpoint, sees its secret once, tests it, reads the log and redelivers', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    context.setDefaultTimeout(10_000);
    context.on('page', (p) => watchPageErrors(p, errors));
    const page = await acceptInvite(context, await inviteLink(server, org.token, org.userId));
    // Signed in with no language on the server: the console's becomes the mails' language.
    await waitForPreferences(page, (p) => p.language === 'en', 'the language after sign-in');

    await openNav(page, 'Webhooks');
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No endpoints yet.').waitFor();

    const url = `${receiver.url}/console`;
    await page.getByLabel('Endpoint URL').fill(url);
    await page.getByLabel('Description').fill('CRM sync');
    await page.getByLabel('All events, including those added later').uncheck();
    await page.getByLabel('session.shared', { exact: true }).check();
    await page.getByLabel('session.agent_confirmed', { exact: true }).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();

    const secretField = page.getByLabel('Signing secret', { exact: true });
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    assert.match(secret, /^whsec_/);
    receiver.secrets.push(secret);
    assert.ok(await page.getByText('it will not be shown again').isVisible());
    const listed = await server.request('GET', '/api/v1/webhooks', { token: org.token });
    assert.equal(listed.json.length, 1);
    assert.deepEqual(listed.json[0].events, ['session.shared', 'session.agent_confirmed']);
    assert.equal(listed.json[0].description, 'CRM sync');
    const hookId = listed.json[0].id as string;

    // Shown once: after a reload the page has no secret to show.
    await page.reload();
    const card = page.getByRole('region', { name: url, exact: true });
    await card.waitFor();
    assert.equal(await page.getByLabel('Signing secret', { exact: true }).count(), 0);
    assert.ok(await card.getByText('session.agent_confirmed').isVisible());

    await card.getByRole('button', { name: 'Send test event' }).click();
    await pollUntil(() => receiver.received.some((r) => r.path === '/console'), 'the test event at the receiver');
    const first = receiver.received.find((r) => r.path === '/console')!;
    assert.equal(first.json.type, 'webhook.test');
    assert.deepEqual(first.verifiedWith, [secret]);

    const log = card.getByRole('table', { name: `Delivery log: ${url}` });
    const testRows = log.getByRole('row').filter({ hasText: 'webhook.test' });
    await testRows.first().waitFor();
    const cells = await testRows.first().getByRole('cell').allTextContents();
    // The time is the row's header; the cells: type, attempt, HTTP status, duration, error, next attempt.
    assert.deepEqual(cells.slice(0, 3), ['webhook.test', '1', '200']);
    assert.match(cells[3]!, /^\d+ ms$/);
    assert.deepEqual(cells.slice(4, 6), ['—', '—'], 'no error, no retry');

    server.clock.advance(65_000);
    await testRows
      .first()
      .getByRole('button', { name: /^Redeliver/ })
      .click();
    await card.getByText('Queued to be sent again.').waitFor();
    assert.equal(await card.getByText('Test event queued', { exact: false }).count(), 0, 'one message, the latest');
    await pollUntil(() => receiver.received.filter((r) => r.path === '/console').length >= 2, 'the redelivery at the receiver');
    const again = receiver.received.filter((r) => r.path === '/console')[1]!;
    assert.equal(again.id, first.id, 'a redelivery keeps the webhook-id');
    await testRows.nth(1).waitFor();
    // Two attempts logged, two requests received: a duplicate would shift the receiver's count below.
    const atConsole = receiver.received.filter((r) => r.path === '/console');
    assert.equal(atConsole.length, 2, `requests at /console: ${JSON.stringify(atConsole.map((r) => r.id))}`);

    // Off and on again, as the server records it.
    await card.getByRole('button', { name: 'Turn off' }).click();
    await card.getByText('Off', { exact: true }).waitFor();
    assert.equal(await card.getByText('Queued to be sent again.').count(), 0, 'the redelivery’s message gives way');
    assert.equal((await server.request('GET', `/api/v1/webhooks/${hookId}`, { token: org.token })).json.active, false);
    await card.getByRole('button', { name: 'Turn on' }).click();
    await card.getByText('On', { exact: true }).waitFor();

    // Edit: the description and the events.
    await card.getByRole('button', { name: 'Edit' }).click();
    const edit = card.getByRole('form', { name: 'Edit endpoint' });
    await edit.waitFor();
    await checkPage(page, 'webhooks-edit-en');
    await edit.getByLabel('Description').fill('CRM sync (shared sessions)');
    await edit.getByLabel('session.agent_confirmed', { exact: true }).uncheck();
    await edit.getByRole('button', { name: 'Save' }).click();
    await card.getByText('CRM sync (shared sessions)').waitFor();
    const edited = (await server.request('GET', `/api/v1/webhooks/${hookId}`, { token: org.token })).json;
    assert.deepEqual(edited.events, ['session.shared']);

    // Rotating asks first, then shows the new secret once.
    await card.getByRole('button', { name: 'Rotate secret' }).click();
    // Focus moves to the question's answer, and back to the button after Cancel.
    const focused = () => page.evaluate<string>(`document.activeElement?.textContent ?? ''`);
    assert.equal(await focused(), 'Rotate');
    await checkPage(page, 'webhooks-rotate-ask-en');
    await card.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await focused(), 'Rotate secret');
    assert.equal(await card.getByLabel('Signing secret', { exact: true }).count(), 0, 'cancelled: nothing rotated');
    await card.getByRole('button', { name: 'Rotate secret' }).click();
    await card.getByRole('button', { name: 'Rotate', exact: true }).click();
    const rotated = await card.getByLabel('Signing secret', { exact: true }).inputValue();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);

    const logged = (count: number, what: string) =>
      eventually(
        async () => (await server.request('GET', `/api/v1/webhooks/${hookId}/deliveries?limit=200`, { token: org.token })).json,
        (l: { deliveries: Array<{ attempt: number; statusCode: number | null }> }) => l.deliveries.length >= count,
        what,
      );
    // A failure: its status, its error and the time of the next attempt, which comes when that time does.
    receiver.answer = ({ path, count }) => (path === '/console' && count === 3 ? { status: 500 } : { status: 200 });
    await card.getByRole('button', { name: 'Send test event' }).click();
    // The page looks again 1.5 and 5 s after an action; with the suite's files in parallel the
    // worker may record the attempt later than that, so the test waits for the server's log and
    // refreshes, as a person would.
    const afterFailure = await logged(3, 'the failed test event logged');
    const received = receiver.received.filter((r) => r.path === '/console').map((r) => r.id);
    assert.equal(
      afterFailure.deliveries[0]!.statusCode,
      500,
      `the newest attempt on record: ${JSON.stringify(afterFailure.deliveries[0])}; received ${received}`,
    );
    await card.getByRole('button', { name: 'Refresh' }).click();
    const failed = log.getByRole('row').filter({ has: page.getByText('500', { exact: true }) });
    await failed.waitFor();
    const failedCells = await failed.getByRole('cell').allTextContents();
    assert.equal(failedCells[1], '1');
    assert.equal(failedCells[4], 'The receiver answered 500.', 'the error in words');
    assert.match(failedCells[5]!, /\d\d:\d\d:\d\d$/, 'when it is tried again');

    await checkPage(page, 'webhooks-en');

    // Korean: the page in the other language, and the person's mails follow the choice.
    await page.getByLabel('Language').selectOption('ko');
    await page.getByRole('heading', { name: '웹훅', level: 1 }).waitFor();
    await waitForPreferences(page, (p) => p.language === 'ko', 'the language chosen in the console');
    await page.getByRole('cell', { name: '수신 서버가 500 코드로 응답했습니다.', exact: true }).waitFor();
    await checkPage(page, 'webhooks-ko');
    await page.getByLabel('언어').selectOption('en');
    await waitForPreferences(page, (p) => p.language === 'en', 'English again');

    server.clock.advance(2_000);
    // The log the page reads once the server has recorded the retry (the receiver sees it first).
    await logged(4, 'the retry logged');
    await card.getByRole('button', { name: 'Refresh' }).click();
    await log
      .getByRole('row')
      .filter({ hasText: 'webhook.test' })
      .filter({ has: page.getByRole('cell', { name: '2', exact: true }) })
      .waitFor();

    // The log pages: 20 rows, then the older ones below them.
    for (let i = 0; i < 20; i++) {
      assert.equal((await server.request('POST', `/api/v1/webhooks/${hookId}/test`, { token: org.token })).status, 202);
    }
    // One more from the page, which then looks at the log again by itself 1.5, 5 and 15 s later.
    await card.getByRole('button', { name: 'Send test event' }).click();
    await pollUntil(() => receiver.received.filter((r) => r.path === '/console').length >= 25, 'twenty-one more test events');
    await logged(25, 'the 25 attempts logged');
    await card.getByRole('button', { name: 'Refresh' }).click();
    const rows = log.getByRole('row');
    await rows.nth(20).waitFor();
    await card.getByRole('button', { name: 'Load more' }).click();
    await rows.nth(25).waitFor();
    assert.equal(await rows.count(), 26, 'a header and every one of the 25 attempts');
    // Once older rows were asked for, looking again would put the first page back in their place.
    await sleep(2_000);
    assert.equal(await rows.count(), 26, 'the older rows stay when the page would have looked again');
    assert.equal(await card.getByRole('button', { name: 'Load more' }).count(), 0, 'nothing older');

    // A receiver that answers 410 Gone turns its endpoint off; the page says so and why.
    receiver.answer = ({ path }) => (path === '/gone' ? { status: 410 } : { status: 200 });
    const goneUrl = `${receiver.url}/gone`;
    const gone = await server.request('POST', '/api/v1/webhooks', { token: org.token, body: { url: goneUrl, events: ['*'] } });
    assert.equal(gone.status, 201, gone.text);
    assert.equal((await server.request('POST', `/api/v1/webhooks/${gone.json.id}/test`, { token: org.token })).status, 202);
    await pollUntil(() => receiver.received.some((r) => r.path === '/gone'), 'the event the receiver refuses');
    await page.reload();
    const goneCard = page.getByRole('region', { name: goneUrl, exact: true });
    await goneCard.getByText('The receiver answered 410 Gone.').waitFor();
    assert.ok(await goneCard.getByText('Turned off by the server:').isVisible());
    assert.ok(await goneCard.getByText('Off', { exact: true }).isVisible());
    assert.equal(await goneCard.getByRole('button', { name: 'Send test event' }).isDisabled(), true);
    assert.ok(await goneCard.getByRole('button', { name: 'Turn on' }).isVisible());
    await checkPage(page, 'webhooks-gone-en');
    await goneCard.getByRole('button', { name: 'Delete', exact: true }).click();
    await goneCard.getByRole('button', { name: 'Delete endpoint' }).click();
    await goneCard.waitFor({ state: 'detached' });

    // Deleting asks first.
    await card.getByRole('button', { name: 'Delete', exact: true }).click();
    await card.getByRole('button', { name: 'Delete endpoint' }).click();
    await page.getByText('No endpoints yet.').waitFor();
    assert.deepEqual((await server.request('GET', '/api/v1/webhooks', { token: org.token })).json, []);
    await context.close();
    assert.deepEqual(errors, []);
  });

  test('every person turns their notification mails off on /me; an agent has no Webhooks page', async () => {
    const agent = await server.addUser(org.orgId, 'agent', 'Avery Agent');
    const context = await browser.newContext({ locale: 'en-GB' });
    context.setDefaultTimeout(10_000);
    context.on('page', (p) => watchPageErrors(p, errors));
    const page = await acceptInvite(context, await inviteLink(server, org.token, agent.userId));

    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Sessions', exact: true }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Webhooks' }).count(), 0);
    await page.goto(`${server.url}/webhooks`);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    assert.equal((await server.request('GET', '/api/v1/webhooks', { token: agent.token })).status, 403);

    await page.getByRole('link', { name: 'My settings' }).click();
    await page.getByRole('heading', { name: 'My settings', level: 1 }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/me');
    const mails = page.getByRole('switch', { name: 'Email me about my coaching sessions' });
    assert.equal(await mails.isChecked(), true);
    assert.ok(await page.getByText('Invitation emails are always sent.').isVisible());
    await mails.uncheck();
    await page.getByText('Saved: these emails are off.').waitFor();
    assert.equal((await preferencesOf(page)).emailNotifications, false);
    await checkPage(page, 'me-en');

    // The link in a mail opens /me directly, and the choice is still there.
    await page.goto(`${server.url}/me`);
    await page.getByRole('heading', { name: 'My settings', level: 1 }).waitFor();
    assert.equal(await page.getByRole('switch', { name: 'Email me about my coaching sessions' }).isChecked(), false);

    await page.getByLabel('Language').selectOption('ko');
    const switchKo = page.getByRole('switch', { name: '내 코칭 세션 관련 이메일 받기' });
    await switchKo.check();
    await page.getByText('저장했습니다. 이제 이 이메일을 받습니다.').waitFor();
    assert.deepEqual(await waitForPreferences(page, (p) => p.language === 'ko', 'Korean'), { emailNotifications: true, language: 'ko' });
    await checkPage(page, 'me-ko');
    await context.close();
    assert.deepEqual(errors, []);
    process.stdout.write(
      `# looked at: ${['webhooks-en', 'webhooks-ko', 'me-en', 'me-ko'].map((n) => path.join(SCREENSHOTS, `${n}.png`)).join(' ')}\n`,
    );
  });
});
