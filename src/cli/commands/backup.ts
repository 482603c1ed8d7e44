import type { Command } from 'commander';
import type { BackupProgress, BackupResult } from '../../store/sqlite/backup.js';
import { CliError, EXIT_USAGE, cliContext, type CliContext } from '../context.js';
import { groupedDigits } from '../../digits.js';

/** One progress line on stderr: redrawn on a terminal, every tenth otherwise (and with --json, one JSON object). */
function progressLine(context: CliContext, tty: boolean): (progress: BackupProgress) => void {
  let lastTenth = -1;
  return ({ totalPages, remainingPages }) => {
    const percent = totalPages === 0 ? 100 : Math.floor(((totalPages - remainingPages) / totalPages) * 100);
    const copied = totalPages - remainingPages;
    const line = `backup: ${percent}% (${groupedDigits(copied)} of ${groupedDigits(totalPages)} pages)`;
    if (tty && !context.json) process.stderr.write(`\r\x1b[K${line}${remainingPages === 0 ? '\n' : ''}`);
    else if (Math.floor(percent / 10) !== lastTenth) {
      lastTenth = Math.floor(percent / 10);
      context.tell(line, { progress: { percent, pages: copied, totalPages } });
    }
  };
}

export function backupCommand(program: Command): void {
  program
    .command('backup')
    .argument('<file>', 'where to write the copy (replaced only once the copy is complete)')
    .description('write a consistent copy of the SQLite database, while the server keeps running')
    .action(async (file: string) => {
      const context = cliContext(program.opts<{ json?: boolean }>().json === true);
      const database = context.config.database;
      if (database.kind !== 'sqlite') {
        throw new CliError(
          'coachport backup copies SQLite databases; for PostgreSQL use pg_dump, for example: ' +
            'pg_dump --format=custom --file=coachport.dump "$DATABASE_URL".',
          EXIT_USAGE,
        );
      }
      const started = Date.now();
      let result: BackupResult;
      try {
        // The SQLite driver loads only for this command (see serve).
        const { backupSqlite } = await import('../../store/sqlite/backup.js');
        result = await backupSqlite(database.file, file, progressLine(context, Boolean(process.stderr.isTTY)));
      } catch (error) {
        throw new CliError(`The backup failed: ${error instanceof Error ? error.message : String(error)}`);
      }
      const seconds = (Date.now() - started) / 1000;
      context.print(
        `Backed up ${database.file} to ${result.file}: ${(result.bytes / 1_048_576).toFixed(1)} MB in ${seconds.toFixed(1)} s.`,
        {
          backup: {
            source: database.file,
            file: result.file,
            pages: result.pages,
            bytes: result.bytes,
            seconds,
            restarts: result.restarts,
          },
        },
      );
    });
}
