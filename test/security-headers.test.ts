import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { DOCS_CSP } from '../src/http/openapi.js';
import { STRICT_TRANSPORT_SECURITY } from '../src/http/security-headers.js';
import { chromiumUnavailable, launchChromium, screenshot } from './helpers/chromium.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const PATHS = ['/healthz', '/api/v1/coaching-templates', '/api/v1/nothing-here', '/docs/', '/openapi.json', '/', '/sessions'];

describe('Strict-Transport-Security', () => {
  let https: TestServer;
  let http: TestServer;
  before(async () => {
    https = await startTestServer({ configure: (c) => ({ ...c, publicUrl: 'https://coachport.example.test' }) });
    http = await startTestServer();
  });
  after(() => Promise.all([https?.close(), http?.close()]));

  it('is on every response, errors included, when PUBLIC_URL is https', async () => {
    assert.equal(STRICT_TRANSPORT_SECURITY, 'max-age=31536000; includeSubDomains');
    for (const path of PATHS) {
      const reply = await https.request('GET', path);
      assert.equal(reply.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains', `${path} (${reply.status})`);
    }
  });

  it('is never sent when PUBLIC_URL is http', async () => {
    for (const path of PATHS) assert.equal((await http.request('GET', path)).headers.get('strict-transport-security'), null, path);
  });
});

describe('the API documentation at /docs', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it('has a Content-Security-Policy that names no other origin and allows nothing inline', async () => {
    const index = await server.request('GET', '/docs/');
    assert.equal(index.status, 200);
    const csp = index.headers.get('content-security-policy')!;
    assert.equal(csp, DOCS_CSP);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /https?:|\*|unsafe-inline|unsafe-eval|swagger\.io/);
    const script = index.text.match(/src="([^"]*swagger-ui-bundle\.js)"/)![1]!;
    const asset = await server.request('GET', new URL(script, `${server.url}/docs/`).pathname);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('content-security-policy'), DOCS_CSP);
  });

  const skip = chromiumUnavailable();
  it('renders in Chromium with no CSP violation and no error in the console', { skip: skip ?? false }, async () => {
    const browser: Browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning' || /Content Security Policy/i.test(message.text())) {
          problems.push(`${message.type()}: ${message.text()}`);
        }
      });
      page.on('requestfailed', (request) => problems.push(`failed request: ${request.url()}`));
      // Chromium reports a blocked load or inline style in the console; the event catches any it does not.
      await page.addInitScript(
        "document.addEventListener('securitypolicyviolation', " +
          "(e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))",
      );
      const response = await page.goto(`${server.url}/docs`);
      assert.equal(response?.headers()['content-security-policy'], DOCS_CSP);
      await page.locator('.swagger-ui .info .title', { hasText: 'Coachport' }).waitFor({ timeout: 15_000 });
      await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
      assert.ok((await page.locator('.opblock').count()) > 10, 'the operations are listed');
      // Opening an operation renders its schemas: the UI works, not only its first paint.
      await page.locator('.opblock-summary').first().click();
      await page.locator('.opblock-body').first().waitFor({ timeout: 5_000 });
      await page.waitForTimeout(300);
      await screenshot(page, 'docs');
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
