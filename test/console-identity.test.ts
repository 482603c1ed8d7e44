import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { chromiumUnavailable, launchChromium, watchPageErrors } from './helpers/chromium.js';
import { checkPage } from './helpers/console.js';
import { startTestProvider, type TestProvider } from './helpers/oidc-provider.js';
import { closedPort } from './helpers/ports.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/**
 * SPEC §10 in the console: "Sign in with your company account" on /sign-in?organization=ID takes a
 * person through a real OpenID provider and back, signed in; the admin's Identity page shows the
 * addresses to paste into the provider. Both in English and Korean, looked at in screenshots.
 */

const skip = chromiumUnavailable();
const CALLBACK = '/api/v1/auth/oidc/callback';

describe('console: single sign-on', { skip: skip ?? false }, () => {
  let server: TestServer;
  let provider: TestProvider;
  let browser: Browser;
  let orgId: string;
  const errors: string[] = [];

  before(async () => {
    const port = await closedPort();
    const publicUrl = `http://127.0.0.1:${port}`;
    provider = await startTestProvider({ redirectUri: publicUrl + CALLBACK });
    server = await startTestServer({ port, configure: (c) => ({ ...c, publicUrl, oidcAllowHttp: true }) });
    server.clock.set(Date.now());
    const org = await server.createOrg('Northwind Support');
    orgId = org.orgId;
    await server.request('PUT', '/api/v1/identity/role-mapping', { token: org.token, body: { admin: ['IT Admins'], coach: ['Coaches'] } });
    const { clientId, clientSecret } = provider.clients[0]!;
    const saved = await server.request('PUT', '/api/v1/identity/oidc', {
      token: org.token,
      body: { issuer: provider.issuer, clientId, clientSecret },
    });
    assert.equal(saved.status, 200, saved.text);
    provider.accounts.set('it-en', {
      sub: 'it-en',
      email: 'robin@northwind.example',
      email_verified: true,
      name: 'Robin Admin',
      groups: ['IT Admins'],
    });
    provider.accounts.set('it-ko', {
      sub: 'it-ko',
      email: 'jiwoo@northwind.example',
      email_verified: true,
      name: '김지우',
      groups: ['IT Admins'],
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await provider?.close();
  });

  const cases = [
    {
      lang: 'en',
      locale: 'en-GB',
      sub: 'it-en',
      button: 'Sign in with your company account',
      nav: 'Identity',
      redirect: 'Redirect URI to paste into the provider',
    },
    {
      lang: 'ko',
      locale: 'ko-KR',
      sub: 'it-ko',
      button: '회사 계정으로 로그인',
      nav: 'ID 연동',
      redirect: '공급자에 붙여 넣을 리디렉션 URI',
    },
  ];
  for (const c of cases) {
    test(`signs in with the company account and shows the Identity page (${c.lang})`, async () => {
      const context = await browser.newContext({ locale: c.locale });
      context.setDefaultTimeout(10_000);
      context.on('page', (p) => watchPageErrors(p, errors));
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-in?organization=${orgId}`);
      const button = page.getByRole('link', { name: c.button });
      await button.waitFor();
      await checkPage(page, `sso-sign-in-${c.lang}`);

      provider.signInAs(c.sub);
      await button.click();
      await page.waitForURL(`${server.url}/sessions`);
      await page.locator('h1').first().waitFor();
      const me = await page.evaluate(
        async () => (await (await fetch('/api/v1/auth/me')).json()) as { user: { email: string; role: string } },
      );
      assert.equal(me.user.role, 'admin');
      assert.match(me.user.email, /@northwind\.example$/);

      await page.getByRole('navigation').getByRole('link', { name: c.nav, exact: true }).click();
      await page.getByRole('heading', { name: c.nav, level: 1 }).waitFor();
      const redirect = page.getByRole('definition').filter({ hasText: CALLBACK });
      assert.equal(await redirect.textContent(), `${server.url}${CALLBACK}`);
      assert.ok(await page.getByText(c.redirect).isVisible());
      assert.ok(await page.getByText(`${server.url}/sign-in?organization=${orgId}`).isVisible());
      await checkPage(page, `identity-${c.lang}`);
      await context.close();
    });
  }

  test('a refused sign-in ends on the sign-in page with the reason in words', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    provider.accounts.set('outsider', {
      sub: 'outsider',
      email: 'sam@elsewhere.example',
      email_verified: true,
      name: 'Sam',
      groups: ['Sales'],
    });
    provider.signInAs('outsider');
    await page.goto(`${server.url}/sign-in?organization=${orgId}`);
    await page.getByRole('link', { name: 'Sign in with your company account' }).click();
    await page.getByRole('alert').filter({ hasText: 'in no group that gives access' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    assert.equal((await context.cookies()).filter((c) => c.name === 'coachport_session').length, 0);
    await checkPage(page, 'sso-sign-in-refused-en');
    await context.close();
    assert.deepEqual(errors, []);
  });
});
