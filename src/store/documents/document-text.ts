/**
 * A stored document's text taken apart and put back together without parsing it: the renderer
 * (coaching/documents.ts, JSON.stringify) writes a session's own fields, then `activityLog`,
 * `coachingPoints` and `todos`, each an array of flat objects. Finding these keys by text is safe
 * for the reason splice.ts gives: a quote inside a string value is always escaped, so text made
 * of a quote, a name, a quote and a colon is a key wherever it occurs, and these keys occur once.
 */

const LOG_KEY = ',"activityLog":';
const POINTS_KEY = ',"coachingPoints":';
const TODOS_KEY = ',"todos":';

/** The first key of every point and to-do, and of every log entry: where each element starts. */
const ITEM = '{"_id":';
export const ENTRY = '{"userId":';

/** A document in four texts: its own fields without the closing brace, then each array's JSON. */
export interface DocumentText {
  header: string;
  log: string;
  points: string;
  todos: string;
}

export function cutDocument(json: string): DocumentText | null {
  const log = json.indexOf(LOG_KEY);
  // Searched from the end: the points and to-dos are small beside a long log.
  const todos = json.lastIndexOf(TODOS_KEY);
  const points = todos < 0 ? -1 : json.lastIndexOf(POINTS_KEY, todos);
  if (log < 0 || points < log || !json.endsWith(']}')) return null;
  const parts = {
    header: json.slice(0, log),
    log: json.slice(log + LOG_KEY.length, points),
    points: json.slice(points + POINTS_KEY.length, todos),
    todos: json.slice(todos + TODOS_KEY.length, -1),
  };
  const arrays = [parts.log, parts.points, parts.todos];
  if (!arrays.every((text) => text.startsWith('[') && text.endsWith(']'))) return null;
  if (parts.log !== '[]' && !parts.log.startsWith(`[${ENTRY}`)) return null;
  if ([parts.points, parts.todos].some((text) => text !== '[]' && !text.startsWith(`[${ITEM}`))) return null;
  return parts;
}

export function joinDocument(parts: DocumentText): string {
  return `${parts.header}${LOG_KEY}${parts.log}${POINTS_KEY}${parts.points}${TODOS_KEY}${parts.todos}}`;
}

/**
 * Whether JSON text holds a lone surrogate (JSON.stringify writes one as an escape): neither
 * database stores it as given, so what is read back and rendered again differs from this text.
 * Text that merely holds a backslash before `ud` (`C:\udata`) is written `C:\\udata`: not one.
 */
export const hasLoneSurrogate = (json: string): boolean => json.includes(LONE_SURROGATE) && SURROGATE_ESCAPE.test(json);

/** The same for a document's UTF-8 bytes: the escape is ASCII, so the bytes are searched first. */
export const bytesHoldLoneSurrogate = (utf8: Buffer): boolean =>
  utf8.includes(LONE_SURROGATE) && SURROGATE_ESCAPE.test(utf8.toString('utf8'));

/** How JSON.stringify begins the escape of a surrogate (it escapes only lone ones, as \ud800–\udfff). */
const LONE_SURROGATE = '\\ud';
/** That escape where its backslash is not itself escaped: after an even run of backslashes. */
const SURROGATE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f]/;

/** The text a session's own fields end with when it is rendered with no children. */
export const EMPTY_CHILDREN = `${LOG_KEY}[]${POINTS_KEY}[]${TODOS_KEY}[]}`;

function occurrences(text: string, marker: string): number {
  let count = 0;
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) count++;
  return count;
}

export const entryCount = (log: string): number => occurrences(log, ENTRY);
export const itemCount = (section: string): number => occurrences(section, ITEM);

/** Elements appended to an array's text. */
export function appendElements(array: string, texts: string[]): string {
  if (texts.length === 0) return array;
  return array === '[]' ? `[${texts.join(',')}]` : `${array.slice(0, -1)},${texts.join(',')}]`;
}

/** Where the point or to-do with this id stands in its array's text: [start, end) of its object. */
export interface ItemSpan {
  start: number;
  end: number;
}

export function findItem(section: string, id: string): ItemSpan | null {
  const start = section.indexOf(`${ITEM}${JSON.stringify(id)},`);
  if (start < 0) return null;
  const next = section.indexOf(`,${ITEM}`, start);
  return { start, end: next < 0 ? section.length - 1 : next };
}

export function replaceItem(section: string, span: ItemSpan, text: string): string {
  return `${section.slice(0, span.start)}${text}${section.slice(span.end)}`;
}

/** The array without the element, and without the comma that separated it from a neighbour. */
export function removeItem(section: string, span: ItemSpan): string {
  if (span.start === 1) return span.end === section.length - 1 ? '[]' : `[${section.slice(span.end + 1)}`;
  return `${section.slice(0, span.start - 1)}${section.slice(span.end)}`;
}

/** The last element's text, or null for an empty array. */
export function lastItem(section: string): string | null {
  return section === '[]' ? null : section.slice(section.lastIndexOf(ITEM), -1);
}

/** The element inserted so that `index` elements stand before it. */
export function insertItem(section: string, index: number, text: string): string {
  let at = 0;
  for (let i = 0; i <= index; i++) {
    at = section.indexOf(ITEM, i === 0 ? 0 : at + ITEM.length);
    if (at < 0) return appendElements(section, [text]);
  }
  return `${section.slice(0, at)}${text},${section.slice(at)}`;
}
