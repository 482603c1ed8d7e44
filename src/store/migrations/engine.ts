/**
 * Which database a migration runs on, declared here and nowhere else: migrations are frozen in
 * time, so they name the two databases themselves instead of borrowing a type from today's store.
 */
export type MigrationEngine = 'sqlite' | 'postgres';
