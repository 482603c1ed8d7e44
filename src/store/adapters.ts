import type { StoreAdapter } from './adapter.js';
import type { Dialect } from './dialect.js';
import { postgresAdapter } from './postgres/adapter.js';
import { sqliteAdapter } from './sqlite/adapter.js';

/** Each database's adapter by the name the migrations pass around; the store itself holds its adapter. */
export const ADAPTERS: Record<Dialect, StoreAdapter> = { sqlite: sqliteAdapter, postgres: postgresAdapter };
