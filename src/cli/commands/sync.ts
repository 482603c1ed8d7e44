import type { Command } from 'commander';
import { ExportApiError, isRetryable } from '../../client/errors.js';
import { realClock } from '../../client/pacer.js';
import type { Mirror } from '../../sync/mirror.js';
import type { SyncEvent, SyncSummary } from '../../sync/sync.js';
import { CliError, EXIT_USAGE, stderrLine } from '../context.js';
import { Progress } from '../progress.js';
import { checkDay, serverAddress } from '../server-options.js';
import { EXIT_AUTH, EXIT_INTERRUPTED, EXIT_SERVER } from './export.js';

interface Options {
  url: string;
  token?: string;
  to: string;
  from?: string;
  watch?: string;
  lookbackDays: string;
  pageSize: string;
  perSecond: string;
  perMinute: string;
  feedPerSecond: string;
  feedPerMinute: string;
}

function whole(value: string, flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new CliError(`${flag} must be a whole number from ${min} to ${max}.`, EXIT_USAGE);
  return n;
}

function describe(event: Extract<SyncEvent, { type: 'page' | 'fallback' }>): string {
  if (event.type === 'fallback') return `no change feed: ${event.reason}`;
  if (event.mode === 'feed') return `page`;
  return `${event.timeAxis} ${event.window.startDate}..${event.window.endDate}`;
}

/** A page's JSON progress line: from the change feed, or a window of the fallback's exports. */
function pageDetails(event: Extract<SyncEvent, { type: 'page' }>): Record<string, unknown> {
  if (event.mode === 'feed') return { mode: 'feed' };
  return { mode: 'fallback', timeAxis: event.timeAxis, startDate: event.window.startDate, endDate: event.window.endDate };
}

export function syncCommand(program: Command): void {
  program
    .command('sync')
    .description('keep a PostgreSQL or SQLite mirror of the coaching data up to date from the change feed')
    .requiredOption('--to <target>', 'postgres://… or a SQLite file path')
    .option('--url <url>', 'the server', 'http://127.0.0.1:3000')
    .option('--token <token>', 'API token of an admin (default: $COACHPORT_TOKEN)')
    .option('--from <day>', 'without a change feed: first day to backfill from, YYYY-MM-DD')
    .option('--watch <seconds>', 'run again every this many seconds until interrupted')
    .option('--lookback-days <days>', 'without a change feed: days re-exported on each run', '30')
    .option('--page-size <n>', 'sessions per change-feed page (1..1000)', '500')
    .option('--per-second <n>', "the server's export limit per second", '1')
    .option('--per-minute <n>', "the server's export limit per minute", '30')
    .option('--feed-per-second <n>', "the server's change-feed limit per second", '5')
    .option('--feed-per-minute <n>', "the server's change-feed limit per minute", '120')
    .action(async (options: Options) => {
      const json = program.opts<{ json?: boolean }>().json === true;
      const token = options.token ?? process.env.COACHPORT_TOKEN;
      if (!token) throw new CliError('No API token: pass --token or set COACHPORT_TOKEN.', EXIT_USAGE);
      serverAddress('--url', options.url);
      if (options.from !== undefined) checkDay('--from', options.from);
      const watchSeconds = options.watch === undefined ? null : whole(options.watch, '--watch');
      const lookbackDays = whole(options.lookbackDays, '--lookback-days');
      const pageSize = whole(options.pageSize, '--page-size', 1, 1000);
      const limits = {
        perSecond: whole(options.perSecond, '--per-second'),
        perMinute: whole(options.perMinute, '--per-minute'),
        feedPerSecond: whole(options.feedPerSecond, '--feed-per-second'),
        feedPerMinute: whole(options.feedPerMinute, '--feed-per-minute'),
      };

      // A signal stops the sync between pages: the page being fetched is dropped, the page being
      // applied is committed first.
      const controller = new AbortController();
      const interrupt = () => controller.abort(new Error('interrupted'));
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      // The mirror and its database drivers load only for this command (see serve).
      const { Mirror } = await import('../../sync/mirror.js');
      const { SyncError, SyncInterrupted, syncOnce } = await import('../../sync/sync.js');
      let mirror: Mirror;
      try {
        mirror = await Mirror.open(options.to);
      } catch (error) {
        throw new CliError(`Cannot open the mirror ${options.to.replace(/\/\/[^@/]*@/, '//…@')}: ${(error as Error).message}`, EXIT_USAGE);
      }
      /** The wait between two runs of --watch; false once interrupted. */
      const pause = async (): Promise<boolean> => {
        try {
          await realClock.sleep(watchSeconds! * 1000, controller.signal);
          return true;
        } catch {
          return false;
        }
      };
      try {
        for (let run = 1; ; run++) {
          const progress = new Progress(0, { json });
          let summary: SyncSummary;
          try {
            summary = await syncOnce(mirror, {
              url: options.url,
              token,
              from: options.from,
              lookbackDays,
              pageSize,
              client: { ...limits, signal: controller.signal },
              onEvent: (event) => {
                if (event.type === 'page') progress.pageDone(describe(event), event.sessions, pageDetails(event));
                else if (event.type === 'bytes') progress.addBytes(event.bytes);
                else if (event.type === 'retry') progress.retry({ inSeconds: Math.ceil(event.delayMs / 1000), reason: event.reason });
                else progress.note(describe(event));
              },
            });
          } catch (error) {
            progress.end();
            if (error instanceof SyncInterrupted) {
              if (json) process.stdout.write(`${JSON.stringify(publicSummary(error.summary))}\n`);
              if (watchSeconds !== null) return;
              throw new CliError(
                `Interrupted after ${error.summary.pages} pages; every page applied is in the mirror with its position. ` +
                  'Run the same command again to continue.',
                EXIT_INTERRUPTED,
              );
            }
            if (error instanceof SyncError) throw new CliError(error.message, EXIT_USAGE);
            // Watching, a server restarting or a network gone longer than the retries last does not
            // end the mirror: the next run tries again (a refused token or request still ends it).
            if (watchSeconds !== null && isRetryable(error)) {
              const warning = `sync ${run} failed: ${(error as Error).message} Trying again in ${watchSeconds} s.`;
              stderrLine(json, `coachport: ${warning}`, { warning });
              if (await pause()) continue;
              return;
            }
            if (error instanceof ExportApiError) {
              throw new CliError(
                error.message,
                error.kind === 'auth' ? EXIT_AUTH : error.kind === 'bad_request' ? EXIT_USAGE : EXIT_SERVER,
              );
            }
            throw error;
          }
          progress.end();
          if (json) process.stdout.write(`${JSON.stringify(publicSummary(summary))}\n`);
          else
            process.stderr.write(
              `sync ${run}: ${summary.sessions} sessions in ${summary.pages} pages, ${summary.written} written (${summary.mode})\n`,
            );
          if (watchSeconds === null || !(await pause())) return;
        }
      } finally {
        process.removeListener('SIGINT', interrupt);
        process.removeListener('SIGTERM', interrupt);
        await mirror.close();
      }
    });
}

function publicSummary(summary: SyncSummary) {
  return { sessions: summary.sessions, pages: summary.pages, cursor: summary.cursor, written: summary.written, mode: summary.mode };
}
