import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumUnavailable, watchPageErrors, launchChromium, onServer, screenshot } from './helpers/chromium.js';
import { PASSWORD, acceptInvite, checkPage, inviteLink, openNav, tabTo } from './helpers/console.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * The console in Debian's Chromium against a real server: the whole story of a coaching session
 * across an admin, a coach and an agent, each in their own browser context, with axe-core on every
 * page they see.
 */

const skip = chromiumUnavailable();

describe('console in the browser', { skip: skip ?? false }, () => {
  let server: TestServer;
  let browser: Browser;
  let org: { orgId: string; userId: string; token: string };
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  const people = {
    coach: { name: 'Casey Coach', email: 'casey.coach@example.test', link: '' },
    agent: { name: 'Avery Agent', email: 'avery.agent@example.test', link: '' },
  };
  let sessionId = '';
  let exported = '[]';
  let secret = '';
  const sessionName = 'Call quality review';

  async function newContext(options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
    const context = await browser.newContext({ locale: 'en-GB', acceptDownloads: true, ...options });
    context.setDefaultTimeout(10_000);
    context.on('page', (page) => watchPageErrors(page, errors));
    contexts.push(context);
    return context;
  }

  before(async () => {
    server = await startTestServer();
    browser = await launchChromium();
    org = await server.createOrg('Northwind Support');
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
  });

  test('the sign-in page: the fixed names, no axe violation, a wrong password answered beside the form', async () => {
    const page = await (await newContext()).newPage();
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await checkPage(page, '01-sign-in');
    await page.getByLabel('Email').fill('nobody@example.test');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'The email or password is not right.' }).waitFor();
  });

  test('an unknown or used invite link says so, and a short password is refused beside the field', async () => {
    const page = await (await newContext()).newPage();
    await page.goto(`${server.url}/invite/not-a-real-invite`);
    await page.getByRole('heading', { name: 'Set your password' }).waitFor();
    await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
    assert.equal(await page.getByLabel('New password').count(), 0);
    await checkPage(page, '01-invite-unknown');

    const other = await server.addUser(org.orgId, 'coach', 'Short Password');
    await page.goto(await inviteLink(server, org.token, other.userId));
    await page.getByLabel('New password').fill('short');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('alert').filter({ hasText: /10/ }).waitFor();
    assert.equal(await page.getByLabel('New password').getAttribute('aria-invalid'), 'true');
    await checkPage(page, '01-invite-short-password');
  });

  let admin: Page;
  test('the admin signs in through the invite link, makes a template, and invites a coach and an agent', async () => {
    admin = await acceptInvite(await newContext(), await inviteLink(server, org.token, org.userId));
    await admin.getByRole('heading', { name: 'Coaching sessions' }).waitFor();
    await checkPage(admin, '02-sessions-empty');

    await openNav(admin, 'Templates');
    await admin.getByLabel('Template name').fill(sessionName);
    await admin.getByRole('button', { name: 'Create template' }).click();
    await admin.getByRole('rowheader', { name: sessionName }).waitFor();
    await checkPage(admin, '03-templates');

    await openNav(admin, 'Users');
    for (const [role, person] of Object.entries(people)) {
      await admin.getByLabel('Name', { exact: true }).fill(person.name);
      await admin.getByLabel('Email address').fill(person.email);
      await admin.getByLabel('Role', { exact: true }).selectOption(role);
      await admin.getByRole('button', { name: 'Create and get invite link' }).click();
      const link = admin.getByLabel(`Invite link for ${person.name}`);
      await link.waitFor();
      person.link = onServer(server.url, await link.inputValue());
      await admin.getByRole('rowheader', { name: person.name }).waitFor();
    }
    await checkPage(admin, '04-users');
  });

  let coach: Page;
  test('the coach signs in through their link, creates a session from the template, adds a point and a to-do, and shares it', async () => {
    coach = await acceptInvite(await newContext(), people.coach.link);
    await coach.getByRole('link', { name: 'New session' }).click();
    await coach.getByRole('heading', { name: 'New coaching session' }).waitFor();
    assert.equal(await coach.getByLabel('Session name').inputValue(), sessionName, 'the name follows the template');
    await coach.getByLabel('Agent', { exact: true }).selectOption({ label: people.agent.name });
    await coach.getByLabel('Meeting date and time (UTC)').fill('2024-02-20T10:30');
    await coach.getByLabel('Coach notes').fill('Warm greeting; the refund policy was explained late.');
    await checkPage(coach, '05-new-session');
    await coach.getByRole('button', { name: 'Create session' }).click();
    await coach.getByRole('heading', { name: sessionName, level: 1 }).waitFor();
    sessionId = decodeURIComponent(new URL(coach.url()).pathname.split('/').pop()!);

    await coach.getByText('Add a coaching point').click();
    await coach.getByLabel('Type', { exact: true }).selectOption('strength');
    await coach.getByLabel('Classification').selectOption('qa');
    await coach.getByLabel('Subject').fill('Greeting');
    await coach.getByLabel('Ticket id').fill('T-1001');
    await coach.getByRole('button', { name: 'Add point' }).click();
    await coach.locator('.card-item').filter({ hasText: 'Greeting' }).waitFor();

    await coach.getByText('Add a to-do').click();
    await coach.getByLabel('Title').fill('Review the refund policy');
    await coach.getByRole('button', { name: 'Add to-do' }).click();
    await coach.locator('.card-item').filter({ hasText: 'Review the refund policy' }).waitFor();

    await coach.getByRole('button', { name: 'Share with agent' }).click();
    await coach.locator('.page-head').getByText('Shared', { exact: true }).waitFor();
    await checkPage(coach, '06-session-coach');
  });

  let agent: Page;
  test('the agent sees the shared session and their to-do, writes notes and confirms', async () => {
    agent = await acceptInvite(await newContext(), people.agent.link);
    await agent.getByRole('heading', { name: 'Sessions shared with you' }).waitFor();
    await agent.getByRole('heading', { name: 'Your to-dos' }).waitFor();
    await agent.getByRole('listitem').filter({ hasText: 'Review the refund policy' }).waitFor();
    await checkPage(agent, '07-agent-sessions');
    assert.equal(
      await agent.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).count(),
      0,
      'agents have no dashboard',
    );

    await agent.getByRole('table').getByRole('link', { name: sessionName }).click();
    await agent.getByRole('heading', { name: sessionName, level: 1 }).waitFor();
    assert.equal(await agent.getByRole('button', { name: 'Delete session' }).count(), 0, 'an agent cannot delete');
    assert.equal(await agent.getByText('Add a coaching point').count(), 0, 'an agent cannot add points');
    await agent.getByLabel('Agent notes', { exact: true }).fill('Thanks, I will read the policy again.');
    // waitForLoadState('networkidle') would return at once on a page that has loaded: wait for each save's answer.
    const saved = () => agent.waitForResponse((r) => r.request().method() === 'PATCH');
    await Promise.all([saved(), agent.getByRole('button', { name: 'Save agent notes' }).first().click()]);
    await agent.getByLabel('Agent notes on Greeting').fill('Glad it came across.');
    await Promise.all([saved(), agent.getByRole('button', { name: 'Save agent notes' }).nth(1).click()]);
    await agent.getByRole('button', { name: 'Confirm session' }).click();
    await agent.locator('.page-head').getByText('Acknowledged', { exact: true }).waitFor();
    await checkPage(agent, '08-session-agent');
  });

  test('the coach completes the to-do and confirms; the activity log tells the story as a timeline', async () => {
    await coach.reload();
    await coach.getByRole('button', { name: 'Mark Review the refund policy complete' }).click();
    await coach.getByRole('button', { name: 'Reopen Review the refund policy' }).waitFor();
    await coach.getByRole('button', { name: 'Confirm session' }).click();
    await coach.locator('.page-head').getByText('Confirmed', { exact: true }).waitFor();
    const timeline = coach.getByRole('region', { name: 'Activity log' });
    for (const action of ['created', 'coaching_point_added', 'shared', 'agent_confirmed', 'coach_confirmed']) {
      await timeline.getByText(action, { exact: true }).first().waitFor();
    }
    await checkPage(coach, '09-session-confirmed');
  });

  test('the admin exports a range longer than 90 days as JSON and CSV and finds the story in the activity log', async () => {
    await openNav(admin, 'Export');
    await admin.getByLabel('From').fill('2023-12-01');
    await admin.getByLabel('To', { exact: true }).fill('2024-03-31');
    await checkPage(admin, '10-export');
    const [json] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('button', { name: 'Export', exact: true }).click()]);
    await admin.getByText('Window 2 of 2').waitFor();
    exported = fs.readFileSync((await json.path())!, 'utf8');
    const sessions = JSON.parse(exported) as Array<{
      _id: string;
      activityLog: Array<{ actionType: string; userEmail: string }>;
      agentNotes: string;
      todos: Array<{ status: string }>;
    }>;
    const story = sessions.find((s) => s._id === sessionId);
    assert.ok(story, 'the session is in the export');
    const log = story.activityLog.map((e) => `${e.actionType} ${e.userEmail}`);
    for (const line of [
      'created casey.coach@example.test',
      'shared casey.coach@example.test',
      'agent_confirmed avery.agent@example.test',
      'coach_confirmed casey.coach@example.test',
    ]) {
      assert.ok(log.includes(line), `${line} in ${JSON.stringify(log)}`);
    }
    assert.equal(story.agentNotes, 'Thanks, I will read the policy again.');
    assert.equal(story.todos[0]!.status, 'complete');

    await admin.getByLabel('Format').selectOption('csv');
    await admin.getByRole('button', { name: 'Export', exact: true }).click();
    const [csv] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByRole('button', { name: 'Download activity_log.csv' }).click(),
    ]);
    const rows = fs
      .readFileSync((await csv.path())!, 'utf8')
      .trim()
      .split('\r\n');
    assert.equal(rows[0], 'sessionId,position,userId,userEmail,actionType,descriptions,timestamp,ipAddress');
    assert.ok(rows.some((r) => r.startsWith(`${sessionId},`) && r.includes(',agent_confirmed,')));

    await admin.goto(`${server.url}/sessions/${encodeURIComponent(sessionId)}`);
    await admin.getByRole('region', { name: 'Activity log' }).getByText('agent_confirmed').waitFor();
  });

  test('every admin page has no axe violation', async () => {
    for (const [name, shot] of [
      ['Sessions', '11-sessions-admin'],
      ['Tokens', '12-tokens'],
      ['Import', '13-import'],
      ['Audit log', '14-audit-log'],
      ['Dashboard', '15-dashboard'],
    ] as const) {
      await openNav(admin, name);
      await checkPage(admin, shot);
    }
    await openNav(admin, 'Tokens');
    await admin.getByRole('button', { name: 'Create token' }).click();
    secret = await admin.getByLabel('New token').inputValue();
    assert.ok(secret.length > 20, 'the secret is shown once');
    assert.equal((await server.request('GET', '/api/v1/coaching-templates', { token: secret })).status, 200);
  });

  test('the sessions list pages by cursor and filters by state', async () => {
    const agentId = (
      (await server.request('GET', '/api/v1/directory', { token: org.token })).json.users as Array<{ id: string; name: string }>
    ).find((u) => u.name === people.agent.name)!.id;
    for (let i = 0; i < 26; i++) {
      const reply = await server.request('POST', '/api/v1/coaching/sessions', {
        token: org.token,
        body: { coachingFormName: `Bulk ${String(i).padStart(2, '0')}`, agentId },
      });
      assert.equal(reply.status, 201, reply.text);
    }
    await openNav(admin, 'Sessions');
    const rows = admin.getByRole('table').locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 25);
    const names = () => admin.getByRole('table').locator('tbody tr a').allTextContents();
    const pageOne = await names();
    // aria-busy is true from the render where the address changes (useLoad), so waiting for it to
    // be false never reads the previous page's rows.
    await admin.getByRole('button', { name: 'Next page' }).click();
    await admin.waitForURL(/cursor=/);
    await admin.locator('section[aria-busy="false"]').waitFor();
    const pageTwo = await names();
    assert.equal(pageOne.length + pageTwo.length, 27, 'the story and 26 more, each once');
    assert.deepEqual(
      pageTwo.filter((name) => pageOne.includes(name) && name.startsWith('Bulk')),
      [],
      'no session on both pages',
    );
    await admin.getByRole('button', { name: 'Previous page' }).click();
    await admin.waitForURL((url) => !url.search.includes('cursor='));
    await admin.locator('section[aria-busy="false"]').waitFor();
    assert.deepEqual(await names(), pageOne);

    await admin.getByLabel('State').selectOption('confirmed');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await admin.waitForURL(/state=confirmed/);
    await admin.locator('section[aria-busy="false"]').waitFor();
    await admin.getByRole('table').getByRole('link', { name: sessionName }).waitFor();
    assert.equal(await rows.count(), 1);
  });

  test('the admin renames a template (PATCH /api/v1/coaching-templates/:id)', async () => {
    await openNav(admin, 'Templates');
    await admin.getByRole('button', { name: `Rename ${sessionName}` }).click();
    await admin.getByLabel(`New name for ${sessionName}`).fill('Call quality review v2');
    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.getByRole('button', { name: 'Rename Call quality review v2' }).waitFor();
    const templates = (await server.request('GET', '/api/v1/coaching-templates', { token: org.token })).json as Array<{ name: string }>;
    assert.deepEqual(
      templates.map((tpl) => tpl.name),
      ['Call quality review v2'],
    );
  });

  test('the admin revokes a token, changes a role, imports the exported file, and filters the audit log', async () => {
    await openNav(admin, 'Tokens');
    const tokens = (await server.request('GET', '/api/v1/tokens', { token: org.token })).json as Array<{ prefix: string }>;
    const made = tokens.find((token) => secret.startsWith(token.prefix) && !org.token.startsWith(token.prefix))!;
    await admin.getByRole('button', { name: `Revoke ${made.prefix}` }).click();
    await admin.getByText('Revoked').first().waitFor();
    assert.equal((await server.request('GET', '/api/v1/coaching-templates', { token: secret })).status, 401);

    await openNav(admin, 'Users');
    // The page is already loaded, so waiting for the network to go idle could end before the PATCH
    // leaves: wait for its answer instead.
    const roleChanged = () => admin.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().includes('/api/v1/users/'));
    await Promise.all([roleChanged(), admin.getByLabel(`Role of ${people.coach.name}`).selectOption('admin')]);
    const listed = (await server.request('GET', '/api/v1/users', { token: org.token })).json as
      | Array<{ email: string; role: string }>
      | { users: Array<{ email: string; role: string }> };
    const users = Array.isArray(listed) ? listed : listed.users;
    assert.equal(users.find((u) => u.email === people.coach.email)!.role, 'admin');
    await Promise.all([roleChanged(), admin.getByLabel(`Role of ${people.coach.name}`).selectOption('coach')]);

    await openNav(admin, 'Import');
    await admin
      .getByLabel('JSON file')
      .setInputFiles({ name: 'sessions.json', mimeType: 'application/json', buffer: Buffer.from(exported) });
    await admin.getByRole('button', { name: 'Import', exact: true }).click();
    const result = admin.getByRole('status').filter({ hasText: 'Imported' });
    await result.waitFor();
    assert.match((await result.textContent())!, /Sessions\s*1/);
    await checkPage(admin, '18-import-result');

    await openNav(admin, 'Audit log');
    await admin.getByLabel('Action').selectOption('export');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await admin.getByRole('table').getByText('export', { exact: true }).first().waitFor();
  });

  test('an agent cannot open another agent’s session, even by its address', async () => {
    const other = await server.addUser(org.orgId, 'agent', 'Blake Other');
    const created = await server.request('POST', '/api/v1/coaching/sessions', {
      token: org.token,
      body: { coachingFormName: 'Private to Blake', agentId: other.userId },
    });
    assert.equal(created.status, 201, created.text);
    await server.request('POST', `/api/v1/coaching/sessions/${created.json._id}/share`, { token: org.token });
    await agent.goto(`${server.url}/sessions/${encodeURIComponent(created.json._id as string)}`);
    await agent.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
    assert.equal(await agent.getByText('Private to Blake').count(), 0);
    await agent.goto(`${server.url}/sessions`);
    await agent.getByRole('table').getByRole('link', { name: sessionName }).waitFor();
    assert.equal(await agent.getByText('Private to Blake').count(), 0, 'not in the list either');
    await agent.goto(`${server.url}/users`);
    await agent.getByRole('heading', { name: 'Page not found' }).waitFor();
  });

  test('a cross-site POST with the cookie is refused, and so is one without the CSRF token', async () => {
    const context = agent.context();
    const path = `${server.url}/api/v1/coaching/sessions/${encodeURIComponent(sessionId)}/confirm`;
    const crossSite = await context.request.post(path, { headers: { origin: 'https://evil.example' } });
    assert.equal(crossSite.status(), 403);
    const noToken = await context.request.post(path, { headers: { origin: server.url } });
    assert.equal(noToken.status(), 403);
    assert.equal(typeof (await noToken.json()).error, 'string');
  });

  test('keyboard only: the coach signs in, creates a session, adds a point and shares it', async () => {
    const page = await (await newContext()).newPage();
    await page.goto(`${server.url}/sign-in`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await tabTo(page, /^Email/);
    await page.keyboard.type(people.coach.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await tabTo(page, /^New session$/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'New coaching session' }).waitFor();
    await tabTo(page, /^Session name/);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Keyboard session');
    await tabTo(page, /^Create session$/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Keyboard session', level: 1 }).waitFor();
    await tabTo(page, /^Add a coaching point$/);
    await page.keyboard.press('Enter');
    await tabTo(page, /^Subject/);
    await page.keyboard.type('Tone');
    await tabTo(page, /^Add point$/);
    await page.keyboard.press('Enter');
    await page.locator('.card-item').filter({ hasText: 'Tone' }).waitFor();
    await page.keyboard.press('Shift+Tab');
    await tabTo(page, /^Share with agent$/);
    await page.keyboard.press('Enter');
    await page.locator('.page-head').getByText('Shared', { exact: true }).waitFor();
    // Focus is drawn: the focused control has a visible outline.
    await tabTo(page, /All sessions/);
    const outline = await page.evaluate<string>(
      'getComputedStyle(document.activeElement).outlineStyle + " " + document.activeElement.matches(":focus-visible")',
    );
    assert.equal(outline, 'solid true');
  });

  test('with Accept-Language: ko the console speaks Korean, and the choice of language is remembered', async () => {
    const context = await newContext({ locale: 'ko-KR', extraHTTPHeaders: { 'accept-language': 'ko-KR,ko;q=0.9' } });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: '로그인' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'ko');
    await page.getByLabel('이메일').fill(people.coach.email);
    await page.getByLabel('비밀번호').fill(PASSWORD);
    await page.getByRole('button', { name: '로그인' }).click();
    await page.getByRole('heading', { name: '코칭 세션' }).waitFor();
    await page.getByRole('link', { name: '세션', exact: true }).waitFor();
    await checkPage(page, '16-sessions-ko');
    await page.getByLabel('언어').selectOption('en');
    await page.getByRole('heading', { name: 'Coaching sessions' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Coaching sessions' }).waitFor();
  });

  test('a deactivated user is signed out on their next action', async () => {
    await agent.goto(`${server.url}/sessions`);
    await agent.getByRole('button', { name: 'Apply filters' }).waitFor();
    await openNav(admin, 'Users');
    await admin.getByRole('button', { name: `Deactivate ${people.agent.name}` }).click();
    await admin.getByRole('button', { name: `Reactivate ${people.agent.name}` }).waitFor();
    await agent.getByRole('button', { name: 'Apply filters' }).click();
    await agent.getByRole('heading', { name: 'Sign in' }).waitFor();
    await agent.getByText('Your session has ended').waitFor();
    await screenshot(agent, '17-signed-out');
  });

  test('the pages logged no script error', () => {
    assert.deepEqual(errors, []);
  });
});
