import type { DatabaseConfig } from '../config.js';
import { openSqliteStore } from './sqlite/open.js';
import type { Store } from './store.js';

export async function openStore(database: DatabaseConfig): Promise<Store> {
  if (database.kind === 'sqlite') return openSqliteStore(database.file, database.synchronous);
  const { openPostgresStore } = await import('./postgres/open.js');
  return openPostgresStore(database.url);
}
