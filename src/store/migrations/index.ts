import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { MigrationEngine } from './engine.js';
import * as initial from './001-initial.js';
import * as readModel from './002-read-model.js';
import * as accounts from './003-accounts.js';
import * as statsIndexes from './004-stats-indexes.js';
import * as sessionStats from './005-session-stats.js';
import * as settings from './006-settings.js';
import * as readModelVersion from './007-read-model-version.js';
import * as identity from './008-identity.js';
import * as events from './009-events.js';
import * as logArchive from './010-log-archive.js';
import * as exportDayPages from './011-export-day-pages.js';
import * as exportOrderByCodePoint from './012-export-order-by-code-point.js';
import * as namesToSplice from './013-names-to-splice.js';

type DialectMigration = { up(db: Kysely<unknown>, dialect: MigrationEngine): Promise<void> };

/** Ordered by name; a shipped migration is never edited, only followed. */
const migrations: Record<string, DialectMigration> = {
  '001-initial': initial,
  '002-read-model': readModel,
  '003-accounts': accounts,
  '004-stats-indexes': statsIndexes,
  '005-session-stats': sessionStats,
  '006-settings': settings,
  '007-read-model-version': readModelVersion,
  '008-identity': identity,
  '009-events': events,
  '010-log-archive': logArchive,
  '011-export-day-pages': exportDayPages,
  '012-export-order-by-code-point': exportOrderByCodePoint,
  '013-names-to-splice': namesToSplice,
};

export function migrationProvider(dialect: MigrationEngine): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return Object.fromEntries(
        Object.entries(migrations).map(([name, migration]) => [name, { up: (db: Kysely<unknown>) => migration.up(db, dialect) }]),
      );
    },
  };
}
