import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DOCS_PREFIX } from './openapi.js';

/** Where `vite build` writes the console: dist/web, beside this file's dist/src. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** Paths that belong to the API or to operations: never answered with the console's page. */
const NOT_CONSOLE = ['/api/', '/api', DOCS_PREFIX, '/openapi.json', '/healthz', '/readyz', '/metrics'];

/**
 * The page may run only its own bundled script and style, talk only to its own origin, and never
 * be framed. uPlot and Preact set styles through the CSSOM, which `style-src 'self'` allows.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function pageHeaders(reply: FastifyReply): void {
  reply.header('Content-Security-Policy', CONSOLE_CSP);
  reply.header('Cross-Origin-Opener-Policy', 'same-origin');
  reply.header('Cross-Origin-Resource-Policy', 'same-origin');
  reply.header('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
}

/**
 * The console's language from Accept-Language: Korean when it prefers Korean to English, else
 * English. Written into <html lang>, where the page reads it unless the person chose a language.
 */
export function pageLanguage(acceptLanguage: string | undefined): 'en' | 'ko' {
  let best: { lang: 'en' | 'ko'; q: number } = { lang: 'en', q: 0 };
  for (const part of (acceptLanguage ?? '').split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const q = Number(
      params
        .find((p) => p.trim().startsWith('q='))
        ?.trim()
        .slice(2) ?? 1,
    );
    const lang = tag.startsWith('ko') ? 'ko' : tag.startsWith('en') ? 'en' : null;
    if (lang && Number.isFinite(q) && q > best.q) best = { lang, q };
  }
  return best.lang;
}

function isConsolePath(url: string): boolean {
  const path = url.split('?')[0]!;
  return !NOT_CONSOLE.some((prefix) => path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`));
}

/**
 * The web console, built to static files by `npm run build`, served from the same process: hashed
 * assets cached for a year (their names change with their content), the page itself never cached,
 * and every other console path (/sessions/:id, /invite/:token) answered with the page so the
 * browser's router takes over. API paths keep their JSON 404.
 */
export async function consoleRoutes(app: FastifyInstance, options: { dir?: string } = {}): Promise<void> {
  const dir = options.dir ?? CONSOLE_DIR;
  const page = fs.existsSync(`${dir}/index.html`) ? fs.readFileSync(`${dir}/index.html`, 'utf8') : null;
  const pages = page ? { en: page, ko: page.replace('<html lang="en">', '<html lang="ko">') } : null;
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root: dir, serve: false, cacheControl: false, etag: true, lastModified: false });
    // A missing asset or a failure must not be cached for a year under an immutable name.
    scope.addHook('onSend', async (_request, reply, payload) => {
      if (reply.statusCode >= 400) reply.header('Cache-Control', 'no-store');
      return payload;
    });
    const open = { public: true } as const;
    const hide = { hide: true } as const;

    scope.get('/assets/*', { config: open, schema: hide }, (request: FastifyRequest<{ Params: { '*': string } }>, reply) => {
      pageHeaders(reply);
      reply.header('Cache-Control', 'public, max-age=31536000, immutable');
      return reply.sendFile(`assets/${request.params['*']}`);
    });
    scope.get('/favicon.svg', { config: open, schema: hide }, (_request, reply) => {
      reply.header('Cache-Control', 'public, max-age=86400');
      return reply.sendFile('favicon.svg');
    });
    scope.get('/*', { config: open, schema: hide }, (request, reply) => {
      if (!isConsolePath(request.url)) return reply.callNotFound();
      pageHeaders(reply);
      reply.header('Cache-Control', 'no-cache');
      reply.header('Vary', 'Accept-Language');
      if (!pages) {
        return reply.code(503).type('text/plain; charset=utf-8').send('The console is not built: run `npm run build`.');
      }
      return reply.type('text/html; charset=utf-8').send(pages[pageLanguage(request.headers['accept-language'])]);
    });
  });
}
