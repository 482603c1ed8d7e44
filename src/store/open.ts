import type { DatabaseConfig } from '../config.js';
import type { StoreOpenOptions } from './read-model-version.js';
import { openSqliteStore } from './sqlite/open.js';
import type { Store } from './store.js';

export async function openStore(database: DatabaseConfig, options: StoreOpenOptions = {}): Promise<Store> {
  if (database.kind === 'sqlite') {
    const { exportThreads = 0, exportMmap = false, exportDayPages = true } = database;
    return openSqliteStore(database.file, database.synchronous, options, {
      threads: exportThreads,
      mmap: exportMmap,
      dayPages: exportDayPages,
    });
  }
  const { openPostgresStore } = await import('./postgres/open.js');
  return openPostgresStore(database.url, undefined, options);
}
