export { type Db, type ConnectOptions, connect, ping } from './connect.js';
export {
  MIGRATIONS_DIR,
  FolderMigrationProvider,
  MigrationFailedError,
  type MigrationStatus,
  migrateToLatest,
  migrationStatus,
} from './migrate.js';
export type { Database, Defaulted, Int8, Json, Timestamp } from './types.js';
export { PGliteDialect } from './pglite-dialect.js';
