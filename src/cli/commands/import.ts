import type { Command } from 'commander';
import { auditEntry } from '../../audit/audit.js';
import { ExportApiError } from '../../client/errors.js';
import { planWindows } from '../../client/windows.js';
import { DomainError } from '../../coaching/errors.js';
import { BATCH_SESSIONS, fileBatches, RefusedImport } from '../../importer/file-batches.js';
import { RefusedDocument, serverBatches } from '../../importer/from-server.js';
import type { HalfPairs, ImportPlan } from '../../importer/plan.js';
import { ImportFileError } from '../../importer/read-file.js';
import { CliError, cliContext, EXIT_USAGE, resolveOrg, withStore, type CliContext } from '../context.js';
import { ImportCommittedWithStaleNames } from '../../store/store.js';
import { Progress } from '../progress.js';
import { sayStaleNames } from '../stale-names.js';
import { checkDays, checkPace, serverAddress, shownServer } from '../server-options.js';
import { EXIT_AUTH, EXIT_INTERRUPTED, EXIT_SERVER } from './export.js';

/** Progress goes to stderr every this many sessions. */
const PROGRESS_EVERY = 10_000;

async function* withProgress(context: CliContext, batches: AsyncIterable<ImportPlan>): AsyncGenerator<ImportPlan> {
  let sessions = 0;
  for await (const batch of batches) {
    yield batch;
    const before = sessions;
    sessions += batch.sessions.length;
    if (Math.floor(sessions / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY)) {
      context.tell(`${sessions} sessions imported so far (not committed yet)`, { progress: { sessions, committed: false } });
    }
  }
}

interface Options {
  org?: string;
  fromServer?: string;
  token?: string;
  from?: string;
  to?: string;
  perSecond: string;
  perMinute: string;
  gzip?: boolean;
}

const HELP_AFTER = `
Examples:
  coachport import sessions.ndjson
  coachport import --from-server https://coaching.example.com --token "$OLD_TOKEN" --from 2021-01-01 --to 2026-12-31

With --from-server the sessions come straight from a server that speaks the Coaching Export API
(another Coachport or the legacy service), window by window of at most 90 days by createdAt, paced to
its export limits and retried as coachport export does, into this store in ONE transaction: a refused
document, a server that fails after the retries, or an interruption leaves nothing imported. The token
(--token or $COACHPORT_TOKEN) is an admin's token on that server; it is never printed or stored.`;

/** The options only an import from a server uses, as a person types them. */
const SERVER_OPTIONS: Record<string, string> = {
  token: '--token',
  from: '--from',
  to: '--to',
  perSecond: '--per-second',
  perMinute: '--per-minute',
  gzip: '--gzip (or --no-gzip)',
};

export function importCommand(program: Command): void {
  program
    .command('import')
    .description('upsert sessions in the export format, from a file (a JSON array or NDJSON) or a server, in one transaction')
    .argument('[file]', 'a JSON array or NDJSON file of sessions in the export format (streamed)')
    .option('--org <id>', 'organization (default: the only one)')
    .option('--from-server <url>', 'import from this server through the Coaching Export API instead of a file')
    .option('--token <token>', "--from-server: an admin's API token on that server (default: $COACHPORT_TOKEN)")
    .option('--from <day>', '--from-server: first day of createdAt, YYYY-MM-DD (UTC, inclusive)')
    .option('--to <day>', '--from-server: last day of createdAt, YYYY-MM-DD (UTC, inclusive)')
    .option('--per-second <n>', "--from-server: the server's export limit per second", '1')
    .option('--per-minute <n>', "--from-server: the server's export limit per minute", '30')
    .option('--gzip', '--from-server: ask for the export gzipped (the default, except from a server on this machine)')
    .option('--no-gzip', '--from-server: ask for the export plain')
    .addHelpText('after', HELP_AFTER)
    .action(async (file: string | undefined, options: Options, command: Command) => {
      const context = cliContext(program.opts<{ json?: boolean }>().json === true);
      if (options.fromServer !== undefined) {
        if (file !== undefined) throw new CliError('Give a file or --from-server, not both.', EXIT_USAGE);
        await importFromServer(context, options);
        return;
      }
      if (file === undefined) throw new CliError('Name a file to import, or a server with --from-server.', EXIT_USAGE);
      // Given on the command line, not defaults: a file's import has no use for them, and a person who
      // gave one expected something of it.
      const serverOnly = Object.entries(SERVER_OPTIONS).find(([key]) => command.getOptionValueSource(key) === 'cli');
      if (serverOnly) throw new CliError(`${serverOnly[1]} is for --from-server.`, EXIT_USAGE);
      await importFile(context, file, options.org);
    });
}

/** An import is one transaction: its store needs no checkpoints beside it (see StoreOpenOptions). */
const ONE_TRANSACTION = { backgroundCheckpoints: false };
/** A file's import, minutes long, may also keep the file to itself while it writes (see StoreOpenOptions). */
const ONE_FILE_TRANSACTION = { ...ONE_TRANSACTION, withoutWal: true };

async function importFile(context: CliContext, file: string, org: string | undefined): Promise<void> {
  // Ctrl-C or SIGTERM ends the batches: the transaction rolls back and the command says so (a second
  // signal ends the process at once; the rollback journal left then is undone at the next open).
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Interrupted());
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const planned = fileBatches(file, BATCH_SESSIONS, controller.signal);
  let stale: string | null = null;
  try {
    await withStore(
      context,
      async (store) => {
        const orgId = await resolveOrg(store, org);
        const now = context.clock.now();
        // The file as it was named, written with its sessions or not at all, as a server's address is (below).
        const audit = auditEntry(null, 'import', null, { source: file }, now);
        const batches = withProgress(context, planned.batches);
        await store.importBatches(orgId, batches, now, { audit, signal: controller.signal }).catch((error: unknown) => {
          if (!(error instanceof ImportCommittedWithStaleNames)) throw fileImportError(error, file);
          stale = error.message;
        });
      },
      ONE_FILE_TRANSACTION,
    );
  } finally {
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
  }
  const counts = planned.counts();
  context.print(`Imported ${counts.sessions} sessions, ${counts.coachingPoints} coaching points and ${counts.todos} to-dos.`, {
    imported: counts,
  });
  sayStaleNames(context, stale);
  // A valid empty file (0 bytes, `[]`) is often a failed `> file` upstream: said, though not an error.
  if (counts.sessions === 0) {
    const warning = `${file} holds no sessions: nothing was imported.`;
    context.tell(`coachport: ${warning}`, { warning });
  }
  sayHalfPairs(context, planned.halfPairs());
}

/** After an import: the texts stored with U+FFFD for half of a surrogate pair, on stderr (see ImportPlanner.halfPairs). */
function sayHalfPairs(context: CliContext, { documents, first }: HalfPairs): void {
  if (documents === 0) return;
  const warning =
    `${documents === 1 ? '1 session' : `${documents} sessions`} held half of a UTF-16 surrogate pair in a text ` +
    `(the first: ${first}), which UTF-8 cannot hold; U+FFFD (\uFFFD) is stored in its place.`;
  context.tell(`coachport: ${warning}`, { warning, halfSurrogatePairs: { sessions: documents, first } });
}

function fileImportError(error: unknown, file: string): unknown {
  if (error instanceof Interrupted) return new CliError('Interrupted: nothing was imported.', EXIT_INTERRUPTED);
  if (error instanceof RefusedImport) return new CliError(`Nothing was imported. ${error.message}`);
  if (error instanceof ImportFileError) return new CliError(error.message);
  if (isFileError(error)) return new CliError(`Cannot read ${file}: ${error.code}.`);
  // A limit only the stored result shows (points of other sessions linking this one): said like any refusal.
  if (error instanceof DomainError) return new CliError(`Nothing was imported. ${error.message}`);
  return error;
}

function validateServerOptions(options: Options): { url: URL; token: string; from: string; to: string; windows: number } {
  const url = serverAddress('--from-server', options.fromServer!);
  const token = options.token ?? process.env.COACHPORT_TOKEN;
  if (!token) throw new CliError('--from-server needs an API token of that server: pass --token or set COACHPORT_TOKEN.', EXIT_USAGE);
  if (options.from === undefined || options.to === undefined) {
    throw new CliError('--from-server needs the days to import: --from DAY and --to DAY (YYYY-MM-DD).', EXIT_USAGE);
  }
  checkPace(options.perSecond, options.perMinute);
  checkDays(options.from, options.to);
  const windows = planWindows(options.from, options.to).length;
  return { url, token, from: options.from, to: options.to, windows };
}

async function importFromServer(context: CliContext, options: Options): Promise<void> {
  const { url, token, from, to, windows } = validateServerOptions(options);
  const source = shownServer(url);
  const progress = new Progress(windows, { json: context.json });
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Interrupted());
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const { batches, planner } = serverBatches({
    url: url.toString(),
    token,
    from,
    to,
    batchSessions: BATCH_SESSIONS,
    perSecond: Number(options.perSecond),
    perMinute: Number(options.perMinute),
    gzip: options.gzip,
    signal: controller.signal,
    onEvent: (event) => progress.clientEvent(event),
    onWindow: (window, index, sessions) => progress.windowDone(window, sessions, index),
  });
  let stale: string | null = null;
  try {
    await withStore(
      context,
      async (store) => {
        const orgId = await resolveOrg(store, options.org);
        const now = context.clock.now();
        // Where the sessions came from, never the token: the entry is written with them, or not at all.
        const audit = auditEntry(null, 'import', null, { source, from, to, timeAxis: 'createdAt' }, now);
        await store.importBatches(orgId, batches, now, { audit, signal: controller.signal }).catch((error: unknown) => {
          if (!(error instanceof ImportCommittedWithStaleNames)) throw error;
          stale = error.message;
        });
      },
      ONE_TRANSACTION,
    );
  } catch (error) {
    throw serverImportError(error, source);
  } finally {
    progress.end();
    process.removeListener('SIGINT', interrupt);
    process.removeListener('SIGTERM', interrupt);
  }
  const counts = planner.counts();
  context.print(
    `Imported ${counts.sessions} sessions, ${counts.coachingPoints} coaching points and ${counts.todos} to-dos from ${source}.`,
    { imported: counts, source, from, to },
  );
  sayStaleNames(context, stale);
  sayHalfPairs(context, planner.halfPairs());
}

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

function serverImportError(error: unknown, source: string): unknown {
  if (error instanceof CliError) return error;
  if (error instanceof Interrupted) return new CliError('Interrupted: nothing was imported.', EXIT_INTERRUPTED);
  if (error instanceof RefusedDocument || error instanceof DomainError) return new CliError(`Nothing was imported. ${error.message}`);
  if (error instanceof ExportApiError) {
    const code = error.kind === 'auth' ? EXIT_AUTH : error.kind === 'bad_request' ? EXIT_USAGE : EXIT_SERVER;
    return new CliError(`Nothing was imported from ${source}. ${error.message}`, code);
  }
  return error;
}

/** An error of reading the file (ENOENT, EISDIR, …), not of the database (SQLITE_FULL) or anything else with a code. */
export function isFileError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  const { code, syscall } = error instanceof Error ? (error as NodeJS.ErrnoException) : {};
  return typeof code === 'string' && typeof syscall === 'string';
}
