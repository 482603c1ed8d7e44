import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExportSession, TimeAxis } from '../contract/schemas.js';
import { ExportApiError, FetchAgain, isRetryable, isSystemError, OutputError } from './errors.js';
import { ask, type HttpAnswer, type HttpAsk } from './http-answer.js';
import { RawJsonArraySplitter, type ElementWriter } from './json-array-bytes.js';
import { Pacer, realClock, type ClientClock } from './pacer.js';
import { ReadBuffers } from './read-buffers.js';
import { planWindows, type DayWindow } from './windows.js';

export interface RetryPolicy {
  /** Attempts per window for 5xx, network and malformed responses, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** How many 429s in a row a window may meet before the export gives up. */
  maxRateLimited: number;
}

export interface ExportClientOptions {
  baseUrl: string;
  token: string;
  /** The server's export limits; the defaults are the contract's. */
  perSecond?: number;
  perMinute?: number;
  /** The server's change-feed limits (SPEC §7 defaults: 5 a second, 120 a minute). */
  feedPerSecond?: number;
  feedPerMinute?: number;
  retry?: Partial<RetryPolicy>;
  /** A response that sends nothing for this long is abandoned and retried. */
  idleTimeoutMs?: number;
  /**
   * Ask for gzip: a sixth of the bytes on the wire, for the server's and this process's time
   * compressing and inflating. Plain is faster where the network is not the limit. Default: gzip,
   * except from a server on this machine (a loopback address), where compressing only costs.
   */
  gzip?: boolean;
  clock?: ClientClock;
  /** Where each window is spooled while it arrives (default: the system's temporary folder). */
  spoolDir?: string;
  signal?: AbortSignal;
  onEvent?: (event: ClientEvent) => void;
}

export type ClientEvent =
  | { type: 'request'; window: DayWindow; attempt: number }
  | { type: 'retry'; window: DayWindow; attempt: number; delayMs: number; reason: string }
  | { type: 'bytes'; window: DayWindow; bytes: number }
  | { type: 'window'; window: DayWindow; index: number; total: number; sessions: number; bytes: number }
  | { type: 'feed-request'; attempt: number }
  | { type: 'feed-bytes'; bytes: number }
  | { type: 'feed-retry'; attempt: number; delayMs: number; reason: string };

/** One page of the change feed: current documents, the cursor to ask after next, and whether more wait. */
export interface ChangesPage {
  sessions: ExportSession[];
  cursor: string;
  hasMore: boolean;
}

function isChangesPage(value: unknown): value is ChangesPage {
  const page = value as Partial<ChangesPage> | null;
  return (
    typeof page === 'object' &&
    page !== null &&
    Array.isArray(page.sessions) &&
    typeof page.cursor === 'string' &&
    typeof page.hasMore === 'boolean'
  );
}

export interface ExportRange {
  from: string;
  to: string;
  timeAxis: TimeAxis;
}

/** One completed window: its sessions are read back from the spool, so they can be read once. */
export interface CompletedWindow {
  window: DayWindow;
  index: number;
  total: number;
  count: number;
  bytes: number;
  sessions(): AsyncIterable<ExportSession>;
  /**
   * Each session's JSON text, without parsing it: the server's own bytes when they are what
   * `JSON.stringify` writes (as this server's are), otherwise the parsed document written again,
   * so either way exactly what `JSON.stringify(session)` gives.
   */
  texts(): AsyncIterable<Buffer>;
}

/**
 * Where `exportWindowsInto` puts each session's JSON text as it arrives. A window that fails part
 * way is dropped with `discard` (back to the last window that completed) before it is fetched again.
 */
export interface TextSink {
  /** A promise holds the response back until it settles: a sink that writes slowly is not flooded. */
  text(json: Uint8Array): void | Promise<void>;
  discard(): void;
  /**
   * The sink parses every text itself (refusing malformed JSON and UTF-8 with a SyntaxError or
   * TypeError, which the client reports as a malformed response): it is given each document's bytes
   * as the server sent them, neither checked nor written again here, so each is parsed only once.
   */
  parses?: boolean;
  /**
   * `text` copies what it is given and keeps no view of it: a plain response's memory then goes
   * back as soon as each chunk is read (ReadBuffers) rather than to the garbage collector.
   */
  copies?: boolean;
  /**
   * For a sink that parses and writes at once (`text` returns nothing): writes the document that
   * begins at `at` straight from the response's bytes when it lies whole in them (returns the index
   * after it), or returns -1 having written nothing, and the document comes to `text` once split.
   * See RawJsonArraySplitter's `writer`.
   */
  writeLeading?(bytes: Buffer, at: number): number;
  /**
   * For a sink that parses: takes each response's bytes as they arrive and splits them itself (a
   * sink that works on other threads), in place of `text`. See ResponseReader.
   */
  response?: ResponseReader;
  /**
   * Called once a response is read whole and written, before its window counts as delivered: may
   * throw `FetchAgain` (after which the window is discarded and fetched again).
   */
  end?(): void;
}

/**
 * A response's bytes, read by the sink: `push` each chunk (a promise holds the response back),
 * then `end`, which resolves with the number of documents once all are written. Both throw a
 * SyntaxError for a malformed response; `TextSink.discard` forgets one cut short.
 */
export interface ResponseReader {
  push(chunk: Uint8Array): Promise<void> | undefined;
  end(): Promise<number>;
  /** Whether the chunk pushed last was copied, no view of it kept: its memory may then go back. */
  copiedLast(): boolean;
}

/** A window whose sessions have all gone to the sink. */
export type DeliveredWindow = Omit<CompletedWindow, 'sessions' | 'texts'>;

/** How one response's sessions are kept while it arrives: a spool file, or a caller's sink. */
interface WindowTarget {
  /** Takes each document's bytes as sent and parses them itself: see TextSink.parses. */
  parses: boolean;
  /** Takes each document as it is split, in place of `write`. */
  writer?: ElementWriter;
  /** Takes the response's bytes, in place of the splitter and `write`. */
  reader?: ResponseReader;
  write(texts: Uint8Array[]): Promise<void>;
  /** `write` keeps no view of the texts (see TextSink.copies). */
  copies?: boolean;
  end(): Promise<void>;
  abandon(): void;
}

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000, maxRateLimited: 20 };

function retryAfterMs(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/**
 * A client of the Coaching Export API, for any server that speaks the contract. It splits any range
 * of days into windows the API accepts, paces its calls to the limits, waits out 429s as told,
 * retries failures with capped exponential back-off and full jitter, and parses each response as a
 * stream into a spool file, so memory does not grow with the response and a window cut short is
 * fetched again whole rather than half-delivered.
 */
export class ExportClient {
  private readonly pacer: Pacer;
  private readonly feedPacer: Pacer;
  private readonly retry: RetryPolicy;
  private readonly clock: ClientClock;

  constructor(private readonly options: ExportClientOptions) {
    this.clock = options.clock ?? realClock;
    this.pacer = new Pacer(this.clock, options.perSecond ?? 1, options.perMinute ?? 30);
    this.feedPacer = new Pacer(this.clock, options.feedPerSecond ?? 5, options.feedPerMinute ?? 120);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** Every session of the range, window after window, in the API's order within each window. */
  async *exportRange(range: ExportRange): AsyncGenerator<ExportSession> {
    for await (const completed of this.exportWindows(range)) yield* completed.sessions();
  }

  /** The range window by window, each delivered only once it has arrived complete. */
  async *exportWindows(range: ExportRange, firstIndex = 0): AsyncGenerator<CompletedWindow> {
    const windows = planWindows(range.from, range.to);
    const dir = await fs.promises.mkdtemp(path.join(this.options.spoolDir ?? os.tmpdir(), 'coachport-export-'));
    try {
      for (let index = firstIndex; index < windows.length; index++) {
        const window = windows[index]!;
        // A file per response: a stream abandoned after a cut-short response may still be opening
        // (and truncating) its file while the next response is written.
        let file = '';
        let responses = 0;
        const { count, bytes } = await this.fetchWindow(window, range.timeAxis, () => {
          file = path.join(dir, `window-${index}-${++responses}.ndjson`);
          return spoolTarget(file);
        });
        this.options.onEvent?.({ type: 'window', window, index, total: windows.length, sessions: count, bytes });
        yield { window, index, total: windows.length, count, bytes, sessions: () => readSpool(file), texts: () => readSpoolTexts(file) };
        await fs.promises.rm(file, { force: true });
      }
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The range window by window, each session's JSON text (what `JSON.stringify` gives for it) handed
   * to `sink` as it arrives, with no spool file: for a writer that can drop a window cut short.
   * A window is yielded once all of it is in the sink.
   */
  async *exportWindowsInto(range: ExportRange, sink: TextSink, firstIndex = 0): AsyncGenerator<DeliveredWindow> {
    const windows = planWindows(range.from, range.to);
    for (let index = firstIndex; index < windows.length; index++) {
      const window = windows[index]!;
      const { count, bytes } = await this.fetchWindow(window, range.timeAxis, () => sinkTarget(sink));
      this.options.onEvent?.({ type: 'window', window, index, total: windows.length, sessions: count, bytes });
      yield { window, index, total: windows.length, count, bytes };
    }
  }

  private backoff(attempt: number): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(Math.random() * cap);
  }

  private async fetchWindow(window: DayWindow, timeAxis: TimeAxis, target: () => WindowTarget): Promise<{ count: number; bytes: number }> {
    return this.withRetries(
      this.pacer,
      `${window.startDate}..${window.endDate}`,
      {
        request: (attempt) => this.options.onEvent?.({ type: 'request', window, attempt }),
        retry: (attempt, delayMs, reason) => this.options.onEvent?.({ type: 'retry', window, attempt, delayMs, reason }),
      },
      (answered) => this.attempt(window, timeAxis, target, answered),
    );
  }

  /**
   * One page of the change feed (SPEC §7) after `cursor` (null: from the beginning), paced to the
   * feed's own bucket and retried like an export window. A server without the feed answers 404,
   * which comes back as an ExportApiError with status 404 for the caller to fall back on.
   */
  async changes(cursor: string | null, limit: number): Promise<ChangesPage> {
    const url = apiUrl(this.options.baseUrl, 'coaching-sessions/changes');
    if (cursor !== null) url.searchParams.set('cursor', cursor);
    url.searchParams.set('limit', String(limit));
    return this.withRetries(
      this.feedPacer,
      'the change feed',
      {
        request: (attempt) => this.options.onEvent?.({ type: 'feed-request', attempt }),
        retry: (attempt, delayMs, reason) => this.options.onEvent?.({ type: 'feed-retry', attempt, delayMs, reason }),
      },
      (answered) => this.fetchChanges(url.toString(), answered),
    );
  }

  /** Paces, waits out 429s as told, and retries what may succeed later with capped back-off. */
  private async withRetries<T>(
    pacer: Pacer,
    what: string,
    report: { request(attempt: number): void; retry(attempt: number, delayMs: number, reason: string): void },
    once: (answered: () => void) => Promise<T>,
  ): Promise<T> {
    let failures = 0;
    let rateLimited = 0;
    for (let attempt = 1; ; attempt++) {
      await pacer.take(this.options.signal);
      report.request(attempt);
      try {
        return await once(() => pacer.answered());
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        if (error instanceof FetchAgain) {
          report.retry(attempt, 0, error.message);
          continue;
        }
        if (error instanceof RateLimited) {
          if (++rateLimited > this.retry.maxRateLimited) {
            throw new ExportApiError('server', `The server kept answering ${error.status} for ${what}; giving up.`, error.status);
          }
          const delayMs = error.retryAfterMs ?? this.backoff(rateLimited);
          report.retry(attempt, delayMs, error.message);
          await pacer.holdFor(delayMs, this.options.signal);
          continue;
        }
        if (!isRetryable(error) || ++failures >= this.retry.maxAttempts) throw error;
        const delayMs = this.backoff(failures);
        report.retry(attempt, delayMs, (error as Error).message);
        await this.clock.sleep(delayMs, this.options.signal);
      }
    }
  }

  /**
   * Calls `url` with the token, abandoning a response that sends nothing for the idle timeout;
   * `answered` is told when the answer's head arrives, for the pacer.
   */
  private async send<T>(
    url: string,
    init: Omit<HttpAsk, 'signal' | 'headers'> & { headers?: Record<string, string> },
    answered: () => void,
    read: (response: HttpAnswer, idle: IdleWatch, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    // A listener added to a signal already aborted is never called: stopped before the call, none goes.
    this.options.signal?.throwIfAborted();
    const controller = new AbortController();
    const abort = () => controller.abort(this.options.signal?.reason);
    this.options.signal?.addEventListener('abort', abort, { once: true });
    const idleMs = this.options.idleTimeoutMs ?? 60_000;
    // A touch only notes the time: the one timer, when it fires, aborts if nothing came for idleMs
    // and no work holds the reading back, else waits again for the rest. Setting a new timer at
    // each chunk of a response cost the reading thread about 20 ms for 470 MB (7,000 chunks). The
    // timer also keeps the process alive while work waits on what does not (a worker thread's answer).
    let lastActivity = Date.now();
    let holding = 0;
    const check = () => {
      const quiet = Date.now() - lastActivity;
      if (holding === 0 && quiet >= idleMs) controller.abort(new IdleTimeout(idleMs));
      else idle = setTimeout(check, holding > 0 ? idleMs : idleMs - quiet);
    };
    let idle: NodeJS.Timeout = setTimeout(check, idleMs);
    const watch: IdleWatch = {
      touch: () => {
        lastActivity = Date.now();
      },
      async during(work) {
        // The server is not idle while this side holds its answer back (a sink that writes slowly).
        holding++;
        try {
          await work;
        } finally {
          holding--;
          lastActivity = Date.now();
        }
      },
    };
    try {
      let response: HttpAnswer;
      try {
        const encoding = (this.options.gzip ?? !isLoopback(url)) ? 'gzip' : 'identity';
        const headers = { apiToken: this.options.token, accept: 'application/json', 'accept-encoding': encoding, ...init.headers };
        response = await ask(url, { ...init, headers, signal: controller.signal });
        answered();
      } catch (error) {
        throw networkError(error, url, controller.signal);
      }
      if (response.status !== 200) throw await statusError(response, url);
      return await read(response, watch, controller.signal);
    } finally {
      clearTimeout(idle);
      this.options.signal?.removeEventListener('abort', abort);
      // A response left unread (a failure before its body was read) lets go of its connection.
      controller.abort();
    }
  }

  private async fetchChanges(url: string, answered: () => void): Promise<ChangesPage> {
    return this.send(url, { method: 'GET' }, answered, async (response, { touch }, signal) => {
      let text = '';
      try {
        const decoder = new TextDecoder('utf-8', { fatal: true });
        for await (const chunk of response.body) {
          touch();
          this.options.onEvent?.({ type: 'feed-bytes', bytes: chunk.byteLength });
          text += decoder.decode(chunk, { stream: true });
        }
        text += decoder.decode();
      } catch (error) {
        if (error instanceof ExportApiError) throw error;
        throw networkError(error, url, signal);
      }
      let page: unknown;
      try {
        page = JSON.parse(text);
      } catch (error) {
        throw new ExportApiError('protocol', `${url} sent a malformed response: ${(error as Error).message}.`);
      }
      if (!isChangesPage(page))
        throw new ExportApiError('protocol', `${url} did not answer {"sessions": [...], "cursor": string, "hasMore": boolean}.`);
      return page;
    });
  }

  private async attempt(
    window: DayWindow,
    timeAxis: TimeAxis,
    target: () => WindowTarget,
    answered: () => void,
  ): Promise<{ count: number; bytes: number }> {
    const url = apiUrl(this.options.baseUrl, 'coaching-sessions').toString();
    const body = JSON.stringify({ startDate: window.startDate, endDate: window.endDate, timeAxis });
    const init = { method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
    return this.send(url, init, answered, (response, idle, signal) => this.receive(response, window, target(), idle, signal, url));
  }

  private async receive(response: HttpAnswer, window: DayWindow, target: WindowTarget, idle: IdleWatch, signal: AbortSignal, url: string) {
    const splitter = new RawJsonArraySplitter({ check: !target.parses, writer: target.writer });
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let count = 0;
    let bytes = 0;
    try {
      const reader = target.reader;
      const reads = (reader || target.copies) && response.readsOwned ? new ReadBuffers() : null;
      for await (const chunk of response.body) {
        idle.touch();
        bytes += chunk.byteLength;
        this.options.onEvent?.({ type: 'bytes', window, bytes: chunk.byteLength });
        if (reader) {
          const pushed = reader.push(chunk);
          if (pushed) await idle.during(pushed);
          reads?.read(chunk, reader.copiedLast());
          continue;
        }
        const texts: Uint8Array[] = [];
        const written = splitter.written;
        const elements = splitter.push(chunk);
        count += splitter.written - written;
        for (const element of elements) {
          // Text in another form (whitespace, \u escapes, numbers) is parsed, which also refuses malformed JSON.
          const asSent = element.canonical || target.parses;
          texts.push(asSent ? element.bytes : Buffer.from(JSON.stringify(JSON.parse(decoder.decode(element.bytes)))));
          count++;
        }
        if (texts.length > 0) await idle.during(target.write(texts));
        // The splitter keeps no view of a chunk once it has been pushed, nor does a sink that copies.
        reads?.read(chunk, true);
      }
      reads?.release();
      if (reader) count = await reader.end();
      else splitter.end();
      await target.end();
      return { count, bytes };
    } catch (error) {
      target.abandon();
      if (error instanceof ExportApiError || error instanceof OutputError || error instanceof FetchAgain) throw error;
      if (error instanceof WriteFailure) throw new ExportApiError('protocol', error.message);
      if (error instanceof SyntaxError || isInvalidText(error)) {
        if (!signal.aborted) throw new ExportApiError('protocol', `${url} sent a malformed response: ${(error as Error).message}.`);
      }
      throw networkError(error, url, signal);
    }
  }
}

/** The idle timeout of one response: re-armed by each chunk, stopped while this side's own work holds the reading back. */
interface IdleWatch {
  touch(): void;
  during(work: Promise<unknown>): Promise<void>;
}

class WriteFailure extends Error {}

const isInvalidText = (error: unknown) => (error as { code?: string } | null)?.code === 'ERR_ENCODING_INVALID_ENCODED_DATA';

/** A window kept in a file, one session a line, so it is read back only once it arrived whole. */
function spoolTarget(file: string): WindowTarget {
  const out = fs.createWriteStream(file);
  const failure: { error: Error | null } = { error: null };
  out.on('error', (error) => (failure.error = error));
  const failed = (error: Error) => new OutputError(`Cannot write the spool file ${file}: ${error.message}.`);
  return {
    parses: false,
    // Each write's texts are joined into a buffer of their own.
    copies: true,
    async write(texts) {
      if (failure.error) throw failed(failure.error);
      const lines: Uint8Array[] = [];
      for (const text of texts) lines.push(text, NEWLINE);
      if (out.write(Buffer.concat(lines))) return;
      // Each wait removes its listeners, so a long window does not pile them up on the stream.
      await new Promise<void>((resolve, reject) => {
        const broke = (error: Error) => {
          out.off('drain', drained);
          reject(failed(error));
        };
        const drained = () => {
          out.off('error', broke);
          resolve();
        };
        out.once('drain', drained);
        out.once('error', broke);
      });
    },
    end: () => new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(failed(error)) : resolve()))),
    abandon: () => {
      out.once('close', () => fs.rm(file, { force: true }, () => {}));
      out.destroy();
    },
  };
}

function sinkTarget(sink: TextSink): WindowTarget {
  const parses = sink.parses === true;
  const failed = (error: unknown) => {
    if (error instanceof FetchAgain || error instanceof OutputError) return error;
    // A sink that parses meets malformed text first: that is the response's fault, not the sink's.
    if (parses && (error instanceof SyntaxError || isInvalidText(error))) return error;
    const message = `Cannot write the export: ${(error as Error).message}.`;
    // The file system's refusal is the output's; anything else a sink throws, a document it could not take.
    return isSystemError(error) ? new OutputError(message) : new WriteFailure(message);
  };
  /** `run` with its error, thrown or a promise's rejection, as `failed` says. */
  const guarded = <T>(run: () => T): T => {
    try {
      const result = run();
      return (result instanceof Promise ? result.catch((error: unknown) => Promise.reject(failed(error))) : result) as T;
    } catch (error) {
      throw failed(error);
    }
  };
  const writeLeading = sink.writeLeading;
  const writer: ElementWriter | undefined =
    parses && writeLeading
      ? {
          leading: (bytes, at) => guarded(() => writeLeading.call(sink, bytes, at)),
          whole: (bytes) =>
            guarded(() => {
              if (sink.text(bytes)) throw new Error('a sink with writeLeading writes at once');
            }),
        }
      : undefined;
  const response = parses ? sink.response : undefined;
  const reader: ResponseReader | undefined = response && {
    push: (chunk) => guarded(() => response.push(chunk)),
    end: () => guarded(() => response.end()),
    copiedLast: () => response.copiedLast(),
  };
  return {
    parses,
    writer: reader ? undefined : writer,
    reader,
    async write(texts) {
      try {
        for (const text of texts) {
          const written = sink.text(text);
          if (written) await written;
        }
      } catch (error) {
        throw failed(error);
      }
    },
    copies: sink.copies === true && !parses,
    end: async () => guarded(() => sink.end?.()),
    abandon: () => sink.discard(),
  };
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

class RateLimited extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
    readonly status: number,
  ) {
    super(message);
  }
}

class IdleTimeout extends Error {
  constructor(ms: number) {
    super(`no data for ${ms} ms`);
  }
}

function networkError(error: unknown, url: string, signal: AbortSignal): ExportApiError {
  const reason = signal.aborted && signal.reason instanceof IdleTimeout ? signal.reason : error;
  const cause = (reason as { cause?: { code?: string; message?: string } })?.cause;
  const code = (reason as { code?: unknown })?.code;
  const detail = cause?.code ?? (typeof code === 'string' ? code : (cause?.message ?? (reason as Error)?.message ?? String(reason)));
  if (reason instanceof IdleTimeout) return new ExportApiError('network', `${url} stopped sending (${detail}).`);
  return new ExportApiError('network', `Cannot reach ${url} (${detail}).`);
}

/** Where a redirect points (its origin), or null for any other answer or a Location that is not a URL. */
function redirectOrigin(response: HttpAnswer, url: string): string | null {
  const location = response.header('location');
  if (response.status < 300 || response.status >= 400 || location === null) return null;
  try {
    return new URL(location, url).origin;
  } catch {
    return null;
  }
}

async function statusError(response: HttpAnswer, url: string): Promise<Error> {
  const text = await response.text().catch(() => '');
  let message = text.slice(0, 300);
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // not the error shape; keep the raw text
  }
  const status = response.status;
  const retryAfter = retryAfterMs(response.header('retry-after'));
  // A 503 with Retry-After is the server saying when to come back (this one's answer to more exports
  // at once than EXPORT_CONCURRENCY): waited out as a 429 is, not counted as a failure.
  if (status === 429 || (status === 503 && retryAfter !== null))
    return new RateLimited(message || 'Too many requests.', retryAfter, status);
  if (status === 401) return new ExportApiError('auth', `The API token was refused (401): ${message}`, status);
  if (status === 403) return new ExportApiError('auth', `The API token may not export (403): ${message}`, status);
  if (status >= 500) return new ExportApiError('server', `${url} failed with ${status}: ${message}`, status);
  const target = redirectOrigin(response, url);
  if (target !== null) {
    // Not followed: the token would go with the request to wherever the answer points.
    return new ExportApiError(
      'bad_request',
      `${url} answered ${status}, sending the request to ${target}: ` +
        "give that address as the server's (--url, or --from-server for an import).",
      status,
    );
  }
  return new ExportApiError('bad_request', `The server refused the request (${status}): ${message}`, status);
}

const NEWLINE = Buffer.from('\n');

/** The spool's lines as bytes: a session's JSON text holds no raw line break, so each line is one session. */
async function* readSpoolTexts(file: string): AsyncGenerator<Buffer> {
  let rest: Buffer | null = null;
  for await (const read of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    const chunk = read as Buffer;
    let start = 0;
    let end = chunk.indexOf(10);
    if (rest) {
      if (end < 0) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      yield Buffer.concat([rest, chunk.subarray(0, end)]);
      rest = null;
      start = end + 1;
      end = chunk.indexOf(10, start);
    }
    for (; end >= 0; end = chunk.indexOf(10, start)) {
      if (end > start) yield chunk.subarray(start, end);
      start = end + 1;
    }
    rest = start < chunk.length ? chunk.subarray(start) : null;
  }
  if (rest) yield rest;
}

/** Split at line feeds only: readline would also break a line at U+2028 and U+2029, which JSON leaves raw in text. */
async function* readSpool(file: string): AsyncGenerator<ExportSession> {
  for await (const text of readSpoolTexts(file)) yield JSON.parse(text.toString('utf8')) as ExportSession;
}

/**
 * An API path under the server's address, kept under any path it has: a server behind a proxy at
 * `https://host/coaching` answers at `https://host/coaching/api/v1/…` (an absolute path would drop
 * it). An address given with the API's own root (`…/api/v1`) means the same server.
 */
export function apiUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl);
  base.pathname = base.pathname.replace(/\/api\/v1\/?$/, '/');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(`api/v1/${path}`, base);
}
