import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { CONSOLE_DIR, pageLanguage } from '../src/http/console.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

test('npm run build wrote the console: a page and hashed assets, no inline script', () => {
  const html = fs.readFileSync(`${CONSOLE_DIR}/index.html`, 'utf8');
  assert.match(html, /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
  assert.doesNotMatch(html.replace(/<script[^>]*src=[^>]*><\/script>/g, ''), /<script/);
  assert.doesNotMatch(html, /https?:\/\//, 'no CDN, no remote font');
});

test('console paths answer the page with its security headers and no caching', async () => {
  for (const path of ['/', '/sessions', '/sessions/abc123', '/invite/some-token', '/users']) {
    const reply = await server.request('GET', path);
    assert.equal(reply.status, 200, path);
    assert.match(reply.headers.get('content-type')!, /^text\/html/);
    assert.match(reply.text, /<div id="app">/);
    const csp = reply.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(reply.headers.get('cache-control'), 'no-cache');
    assert.equal(reply.headers.get('x-frame-options'), 'DENY');
    assert.equal(reply.headers.get('x-content-type-options'), 'nosniff');
  }
});

test('hashed assets are cached for a year as immutable; a missing one is a 404 that is not cached', async () => {
  const html = (await server.request('GET', '/')).text;
  for (const asset of html.match(/\/assets\/[\w.-]+\.(js|css)/g)!) {
    const reply = await server.request('GET', asset);
    assert.equal(reply.status, 200, asset);
    assert.equal(reply.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  }
  const missing = await server.request('GET', '/assets/nope-123.js');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('cache-control'), 'no-store');
  assert.equal(typeof missing.json.error, 'string');
});

test('API and operations paths never get the page: their JSON 404 and headers stay as they were', async () => {
  for (const path of ['/api/v1/nothing-here', '/api/v2/x', '/api', '/metrics/x']) {
    const reply = await server.request('GET', path);
    assert.equal(reply.status, 404, path);
    assert.deepEqual(Object.keys(reply.json), ['error']);
    assert.equal(reply.headers.get('content-security-policy'), null);
    assert.equal(reply.headers.get('cache-control'), 'no-store');
  }
  const health = await server.request('GET', '/healthz');
  assert.deepEqual(health.json, { status: 'ok' });
  const openapi = await server.request('GET', '/openapi.json');
  assert.equal(openapi.status, 200);
  assert.ok(
    !Object.keys(openapi.json.paths).some((p: string) => p.startsWith('/assets') || p === '/*'),
    'console routes stay out of the API description',
  );
  assert.equal((await server.request('POST', '/sessions')).status, 404);
});

test('the page is marked Korean when Accept-Language prefers Korean', async () => {
  const ko = await server.request('GET', '/sessions', { headers: { 'accept-language': 'ko-KR,ko;q=0.9,en;q=0.8' } });
  assert.match(ko.text, /<html lang="ko">/);
  assert.match(ko.headers.get('vary')!, /Accept-Language/);
  const en = await server.request('GET', '/sessions', { headers: { 'accept-language': 'en-US,en;q=0.9,ko;q=0.5' } });
  assert.match(en.text, /<html lang="en">/);
  assert.equal(pageLanguage(undefined), 'en');
  assert.equal(pageLanguage('fr, ko;q=0.3'), 'ko');
  assert.equal(pageLanguage('de'), 'en');
});
