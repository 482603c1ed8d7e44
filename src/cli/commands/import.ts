import type { Command } from 'commander';
import { DomainError } from '../../coaching/errors.js';
import { ImportPlanner, type ImportPlan } from '../../importer/plan.js';
import { ImportFileError, readDocuments } from '../../importer/read-file.js';
import { CliError, cliContext, resolveOrg, withStore } from '../context.js';

/** Sessions a batch carries into the store: large enough that a batch's statements pay, small enough to keep memory flat. */
const BATCH_SESSIONS = 1000;
/** Progress goes to stderr every this many sessions. */
const PROGRESS_EVERY = 10_000;

/** A refusal of the file's content: nothing is written, and the first bad document is named. */
class RefusedImport extends Error {}

/** The file's documents, checked one by one, in batches of planned writes. */
async function* plannedBatches(file: string, planner: ImportPlanner): AsyncGenerator<ImportPlan> {
  for await (const { element, line, value } of readDocuments(file)) {
    const error = planner.add(value, element);
    if (error) throw new RefusedImport(line === null ? error : `Line ${line}: ${error}`);
    if (planner.pending === BATCH_SESSIONS) yield planner.take();
  }
  if (planner.pending > 0) yield planner.take();
}

async function* withProgress(batches: AsyncIterable<ImportPlan>): AsyncGenerator<ImportPlan> {
  let sessions = 0;
  for await (const batch of batches) {
    yield batch;
    const before = sessions;
    sessions += batch.sessions.length;
    if (Math.floor(sessions / PROGRESS_EVERY) > Math.floor(before / PROGRESS_EVERY)) {
      process.stderr.write(`${sessions} sessions imported so far (not committed yet)\n`);
    }
  }
}

export function importCommand(program: Command): void {
  program
    .command('import')
    .description('upsert sessions in the export format (a JSON array or NDJSON, streamed) in one transaction')
    .argument('<file>')
    .option('--org <id>', 'organization (default: the only one)')
    .action(async (file: string, options: { org?: string }) => {
      const context = cliContext(program.opts<{ json?: boolean }>().json === true);
      const planner = new ImportPlanner();
      await withStore(context, async (store) => {
        const orgId = await resolveOrg(store, options.org);
        return store.importBatches(orgId, withProgress(plannedBatches(file, planner)), context.clock.now()).catch((error: unknown) => {
          if (error instanceof RefusedImport || error instanceof ImportFileError) {
            throw new CliError(error instanceof RefusedImport ? `Nothing was imported. ${error.message}` : error.message);
          }
          if (isFileError(error)) throw new CliError(`Cannot read ${file}: ${error.code}.`);
          // A limit only the stored result shows (points of other sessions linking this one): said like any refusal.
          if (error instanceof DomainError) throw new CliError(`Nothing was imported. ${error.message}`);
          throw error;
        });
      });
      const counts = planner.counts();
      context.print(`Imported ${counts.sessions} sessions, ${counts.coachingPoints} coaching points and ${counts.todos} to-dos.`, {
        imported: counts,
      });
    });
}

function isFileError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}
