import type { FastifyBodyParser, FastifyRequest } from 'fastify';
import { NUL_REFUSAL } from '../importer/plan.js';
import { HttpError } from './errors.js';

/**
 * A JSON body whose text holds the NUL character, refused before any route sees it: PostgreSQL
 * stores no NUL in text (the write failed there), and SQLite would keep one that an export then
 * carries into files the import refuses (importer/plan.ts, whose words this answer shares). Named
 * by the field, or for an array by its element, as the import names them. JSON can hold a NUL only
 * as the escape `\u0000`, so a body without that text is not walked.
 */
function nulTextError(raw: string, value: unknown): HttpError | null {
  if (!raw.includes('\\u0000')) return null;
  if (Array.isArray(value)) {
    const at = value.findIndex((element) => nulPath(element, '') !== null);
    return at < 0 ? null : new HttpError(400, `Element ${at}: ${NUL_REFUSAL}`);
  }
  const path = nulPath(value, '');
  return path === null ? null : new HttpError(400, `${path || 'The body'}: ${NUL_REFUSAL}`);
}

/** The first place in a parsed value where a key or a string holds NUL ('' for the value itself), or null. */
function nulPath(value: unknown, at: string): string | null {
  if (typeof value === 'string') return value.includes('\0') ? at : null;
  if (value === null || typeof value !== 'object') return null;
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v]) : Object.entries(value);
  for (const [key, child] of entries) {
    const here = key.startsWith('[') ? `${at}${key}` : at ? `${at}.${key}` : key;
    if (key.includes('\0')) return here;
    const found = nulPath(child, here);
    if (found !== null) return found;
  }
  return null;
}

/** An `onRequest` hook: `%00` in a URL (every `%` begins an escape, so this is always NUL) is refused as the body's text is. */
export async function refuseNulInUrl(request: FastifyRequest): Promise<void> {
  if (request.url.includes('%00')) throw new HttpError(400, 'The URL holds the NUL character (%00), which Coachport does not store.');
}

/** Fastify's JSON parser (`getDefaultJsonParser`), refusing what `nulTextError` refuses. */
export function refusingNul(parseJson: FastifyBodyParser<string>): FastifyBodyParser<string> {
  return (request: FastifyRequest, body: string, done) => {
    parseJson(request, body, (error, value) => {
      const refused = error ? null : nulTextError(body, value);
      if (error || refused) done(error ?? refused);
      else done(null, value);
    });
  };
}
