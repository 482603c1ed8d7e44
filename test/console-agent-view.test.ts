import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumUnavailable, launchChromium, watchPageErrors } from './helpers/chromium.js';
import { acceptInvite, checkPage, inviteLink } from './helpers/console.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * SPEC §12 in the console: the agent's session page shows what the API gives an agent (no deleted
 * points or to-dos, activity without addresses), and a to-do link that is not http(s), left from
 * before the rule, is shown as text and never as a link anyone could click.
 */

const skip = chromiumUnavailable();
const OLD_LINK = 'javascript:alert(document.cookie)';
const GOOD_LINK = 'https://kb.example.test/refunds';

describe("console: the agent's view of a session", { skip: skip ?? false }, () => {
  let server: TestServer;
  let browser: Browser;
  const errors: string[] = [];

  before(async () => {
    server = await startTestServer();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("renders the agent's session without deleted items, and an old non-http link as text only", async () => {
    const org = await server.createOrg('Northwind Support');
    const coach = await server.addUser(org.orgId, 'coach', 'Casey Coach');
    const agent = await server.addUser(org.orgId, 'agent', 'Avery Agent');
    const call = (method: string, path: string, body?: unknown) => server.request(method, path, { token: coach.token, body });
    const created = await call('POST', '/api/v1/coaching/sessions', { coachingFormName: 'Refund call review', agentId: agent.userId });
    const id = created.json._id as string;
    const point = (type: string, subject: string) =>
      call('POST', '/api/v1/coaching/points', { coachingFormIds: [id], type, classification: 'qa', subject });
    await point('strength', 'Warm greeting');
    const removed = await point('opportunity', 'Withdrawn remark');
    await call('DELETE', `/api/v1/coaching/points/${removed.json._id}`);
    await call('POST', '/api/v1/coaching/todos', { coachingFormIds: [id], title: 'Read the refund policy', link: GOOD_LINK });
    const gone = await call('POST', '/api/v1/coaching/todos', { coachingFormIds: [id], title: 'Withdrawn task' });
    await call('DELETE', `/api/v1/coaching/todos/${gone.json._id}`);
    // A link written before links were checked: only the store itself can still write one.
    const now = server.clock.now();
    await server.store.coaching(org.orgId, (tx) =>
      tx.saveTodo(
        {
          id: 'todo-old-link',
          sessionIds: [id],
          actionString: null,
          completedAt: null,
          createdAt: now,
          creatorId: coach.userId,
          description: null,
          link: OLD_LINK,
          status: 'incomplete',
          title: 'Old task',
          type: null,
          updatedAt: now,
          isDeleted: false,
        },
        true,
      ),
    );
    assert.equal((await call('POST', `/api/v1/coaching/sessions/${id}/share`)).status, 200);

    const context = await browser.newContext({ locale: 'en-GB' });
    context.setDefaultTimeout(10_000);
    context.on('page', (p) => watchPageErrors(p, errors));
    const page = await acceptInvite(context, await inviteLink(server, org.token, agent.userId));
    await page.goto(`${server.url}/sessions/${encodeURIComponent(id)}`);
    await page.getByRole('heading', { name: 'Refund call review', level: 1 }).waitFor();
    const points = page.getByRole('region', { name: /^Coaching points/ });
    const todos = page.getByRole('region', { name: /^To-dos/ });
    await points.getByText('Warm greeting', { exact: true }).waitFor();
    await page.getByRole('region', { name: 'Activity log' }).getByText('shared', { exact: true }).waitFor();

    // The log still tells that they were added and deleted; the items themselves are not shown.
    assert.equal(await points.getByText('Withdrawn remark').count(), 0, 'a deleted point is not shown to the agent');
    assert.equal(await todos.getByText('Withdrawn task').count(), 0, 'nor a deleted to-do');
    assert.equal(await todos.getByRole('listitem').count(), 2);
    assert.equal(await page.getByRole('link', { name: GOOD_LINK }).getAttribute('href'), GOOD_LINK);
    await page.getByText(OLD_LINK).waitFor();
    assert.equal(await page.getByRole('link', { name: OLD_LINK }).count(), 0, 'an old javascript: link is not clickable');
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0);
    await checkPage(page, 'agent-session-view');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
