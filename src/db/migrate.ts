import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Kysely, type Migration, type MigrationProvider, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { Database } from './types.js';

/** migrations/ at the repository top level; the same relative path holds from dist/src/db/. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Arbitrary, fixed key for the session advisory lock that serializes migrators across replicas. */
const MIGRATION_LOCK_KEY = 4_214_133_701;

const MIGRATION_FILE = /^(\d{4}_[a-z0-9_]+)\.(ts|js|mjs)$/;

/** Loads `NNNN_name.ts` (or compiled `.js`) files; numbered, never edited after they land. */
export class FolderMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string = MIGRATIONS_DIR) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((f) => MIGRATION_FILE.test(f) && !f.endsWith('.d.ts')).sort();
    const out: Record<string, Migration> = {};
    for (const f of files) {
      const name = MIGRATION_FILE.exec(f)?.[1];
      if (!name || out[name]) continue;
      const mod = (await import(pathToFileURL(path.join(this.dir, f)).href)) as Partial<Migration>;
      if (typeof mod.up !== 'function') throw new Error(`Migration ${f} has no exported up() function`);
      out[name] = mod.down ? { up: mod.up, down: mod.down } : { up: mod.up };
    }
    return out;
  }
}

export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';
  constructor(
    readonly migration: string | undefined,
    cause: unknown,
  ) {
    super(`Migration ${migration ?? '(unknown)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Bring the schema up to date. Several replicas starting at once is normal: one session advisory
 * lock, held on one connection around the whole run (including Kysely's own bookkeeping tables),
 * makes the others wait and then find nothing left to do.
 */
export async function migrateToLatest(db: Kysely<Database>, dir: string = MIGRATIONS_DIR): Promise<MigrationResultSet> {
  return db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(conn);
    try {
      const migrator = new Migrator({ db: conn, provider: new FolderMigrationProvider(dir) });
      const result = await migrator.migrateToLatest();
      if (result.error) {
        const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
        throw new MigrationFailedError(failed, result.error);
      }
      return result;
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(conn);
    }
  });
}

export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

export async function migrationStatus(db: Kysely<Database>, dir: string = MIGRATIONS_DIR): Promise<MigrationStatus> {
  const migrator = new Migrator({ db, provider: new FolderMigrationProvider(dir) });
  const all = await migrator.getMigrations();
  return {
    applied: all.filter((m) => m.executedAt).map((m) => m.name),
    pending: all.filter((m) => !m.executedAt).map((m) => m.name),
  };
}
