import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumUnavailable, launchChromium } from './helpers/chromium.js';
import { acceptInvite, checkPage, inviteLink, openNav } from './helpers/console.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** The dashboard (SPEC §6) over data seeded through the public API, read in Chromium. */

const skip = chromiumUnavailable();

describe('dashboard in the browser', { skip: skip ?? false }, () => {
  let server: TestServer;
  let browser: Browser;
  let org: { orgId: string; userId: string; token: string };

  before(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    org = await server.createOrg('Contoso Care');
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const reply = await server.request(method, path, { token, body });
      assert.ok(reply.status < 300, `${method} ${path}: ${reply.status} ${reply.text}`);
      return reply.json;
    };
    const coaches = [await server.addUser(org.orgId, 'coach', 'Dana Coach'), await server.addUser(org.orgId, 'coach', 'Eli Coach')];
    const agents = [
      await server.addUser(org.orgId, 'agent', 'Fay Agent'),
      await server.addUser(org.orgId, 'agent', 'Gus Agent'),
      await server.addUser(org.orgId, 'agent', 'Hal Agent'),
    ];
    const template = await call('POST', '/api/v1/coaching-templates', org.token, { name: 'Weekly QA' });
    // Eight sessions over five weeks of January and February 2024, coaches and agents in turn.
    for (let i = 0; i < 8; i++) {
      const coach = coaches[i % 2]!;
      const agent = agents[i % 3]!;
      const session = await call('POST', '/api/v1/coaching/sessions', org.token, {
        coachingFormName: `QA review ${i + 1}`,
        coachId: coach.userId,
        agentId: agent.userId,
        coachingTemplateId: template.id,
        meetingDate: new Date(Date.UTC(2024, 0, 8 + i * 5, 10)).toISOString(),
      });
      await call('POST', '/api/v1/coaching/points', org.token, {
        coachingFormIds: [session._id],
        type: i % 3 === 0 ? 'opportunity' : 'strength',
        classification: i % 2 ? 'qa' : 'csat',
      });
      await call('POST', '/api/v1/coaching/todos', org.token, {
        coachingFormIds: [session._id],
        title: `Follow-up ${i + 1}`,
        ...(i % 2 ? { status: 'complete' } : {}),
      });
      if (i % 4 !== 3) {
        await call('POST', `/api/v1/coaching/sessions/${session._id}/share`, org.token);
        if (i % 2 === 0) await call('POST', `/api/v1/coaching/sessions/${session._id}/confirm`, agent.token);
      }
    }
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('charts and the per-coach and per-agent tables show the seeded numbers; the CSV has the table’s rows', async () => {
    const api = await server.request('GET', '/api/v1/coaching/stats?from=2024-01-01&to=2024-02-29&groupBy=coach', { token: org.token });
    assert.equal(api.status, 200, api.text);
    const context = await browser.newContext({ locale: 'en-GB', acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await acceptInvite(context, await inviteLink(server, org.token, org.userId));
    await openNav(page, 'Dashboard');
    await page.getByLabel('From').fill('2024-01-01');
    await page.getByLabel('To', { exact: true }).fill('2024-02-29');
    await page.getByLabel('Per', { exact: true }).selectOption('week');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('section[aria-busy="false"]').getByRole('heading', { name: 'Per coach' }).waitFor();
    await page.locator('.chart canvas').nth(2).waitFor();

    assert.equal(await page.locator('.chart canvas').count(), 3, 'three charts drawn');
    const described = await page.locator('.chart[role=img]').evaluateAll((els) => els.map((el) => el.getAttribute('aria-label') ?? ''));
    assert.ok(
      described.length >= 3 && described.every((text) => /Line chart|line chart/i.test(text)),
      `text alternatives: ${described.join(' | ')}`,
    );
    await checkPage(page, '20-dashboard');

    const table = page.getByRole('table', { name: 'Per coach' });
    const shown = await table
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent ?? '')));
    const expected = (api.json.rows as Array<{ label: string; sessions: number }>).map((r) => [r.label, String(r.sessions)]).sort();
    assert.deepEqual(shown.map((cells) => [cells[0], cells[1]]).sort(), expected);
    assert.equal(
      expected.reduce((sum, [, n]) => sum + Number(n), 0),
      8,
    );

    // Sorting by name puts Dana before Eli, and the header says so.
    await table.getByRole('button', { name: 'Coach', exact: true }).click();
    assert.equal(await table.getByRole('columnheader', { name: 'Coach', exact: true }).getAttribute('aria-sort'), 'ascending');
    const sortedNames = await table.locator('tbody th').allTextContents();
    assert.deepEqual(sortedNames, [...sortedNames].sort());

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download Per coach as CSV' }).click(),
    ]);
    const lines = fs
      .readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\r\n');
    assert.equal(lines[0]!.split(',')[0], 'Coach');
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(',')[0]),
      sortedNames,
      'the CSV has the table’s rows in its order',
    );
    for (const line of lines.slice(1)) {
      const row = (api.json.rows as Array<{ label: string; sessions: number; todos: number }>).find((r) => r.label === line.split(',')[0])!;
      assert.equal(Number(line.split(',')[1]), row.sessions);
    }

    const agentRows = await page.getByRole('table', { name: 'Per agent' }).locator('tbody tr').count();
    assert.equal(agentRows, 3);
    await page.getByText('Chart data as a table').click();
    assert.ok((await page.getByRole('table', { name: 'Over time' }).locator('tbody tr').count()) >= 5, 'one row per week');
    await context.close();
  });
});
