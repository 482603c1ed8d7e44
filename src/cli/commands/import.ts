import type { Command } from 'commander';
import { DomainError } from '../../coaching/errors.js';
import { planImport } from '../../importer/plan.js';
import { readDocuments } from '../../importer/read-file.js';
import { CliError, cliContext, resolveOrg, withStore } from '../context.js';

export function importCommand(program: Command): void {
  program
    .command('import')
    .description('upsert sessions in the export format (a JSON array or NDJSON) in one transaction')
    .argument('<file>')
    .option('--org <id>', 'organization (default: the only one)')
    .action(async (file: string, options: { org?: string }) => {
      const context = cliContext(program.opts<{ json?: boolean }>().json === true);
      const read = await readDocuments(file).catch((error: NodeJS.ErrnoException) => {
        throw new CliError(`Cannot read ${file}: ${error.code ?? error.message}.`);
      });
      if (!read.ok) throw new CliError(read.error);
      const planned = planImport(read.documents);
      if (!planned.ok) throw new CliError(`Nothing was imported. ${planned.error}`);
      const counts = await withStore(context, async (store) => {
        const orgId = await resolveOrg(store, options.org);
        return store.applyImport(orgId, planned.plan, context.clock.now()).catch((error: unknown) => {
          // A limit only the stored result shows (points of other sessions linking this one): said like any refusal.
          if (error instanceof DomainError) throw new CliError(`Nothing was imported. ${error.message}`);
          throw error;
        });
      });
      context.print(`Imported ${counts.sessions} sessions, ${counts.coachingPoints} coaching points and ${counts.todos} to-dos.`, {
        imported: counts,
      });
    });
}
