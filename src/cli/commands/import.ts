import type { Command } from 'commander';
import { DomainError } from '../../coaching/errors.js';
import { fileBatches, RefusedImport } from '../../importer/file-batches.js';
import type { ImportPlan } from '../../importer/plan.js';
import { ImportFileError } from '../../importer/read-file.js';
import { CliError, cliContext, resolveOrg, withStore } from '../context.js';

/** Progress goes to stderr every this many sessions. */
const PROGRESS_EVERY = 10_000;

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
      const planned = fileBatches(file);
      await withStore(context, async (store) => {
        const orgId = await resolveOrg(store, options.org);
        return store.importBatches(orgId, withProgress(planned.batches), context.clock.now()).catch((error: unknown) => {
          if (error instanceof RefusedImport || error instanceof ImportFileError) {
            throw new CliError(error instanceof RefusedImport ? `Nothing was imported. ${error.message}` : error.message);
          }
          if (isFileError(error)) throw new CliError(`Cannot read ${file}: ${error.code}.`);
          // A limit only the stored result shows (points of other sessions linking this one): said like any refusal.
          if (error instanceof DomainError) throw new CliError(`Nothing was imported. ${error.message}`);
          throw error;
        });
      });
      const counts = planned.counts();
      context.print(`Imported ${counts.sessions} sessions, ${counts.coachingPoints} coaching points and ${counts.todos} to-dos.`, {
        imported: counts,
      });
    });
}

function isFileError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}
