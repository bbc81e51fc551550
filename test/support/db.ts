import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, connect, migrateToLatest } from '../../src/db/index.js';

/** The real PostgreSQL the tests use, if any; otherwise each test file gets an in-memory PGlite. */
export function testDatabaseUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  return url || undefined;
}

export interface TestDb extends Db {
  /** Drop everything this test database holds (closes connections first). */
  cleanup(): Promise<void>;
  /** Open another independent connection set to the same database (a second "replica"). */
  another(): Promise<Db>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A database of its own for one test file: a fresh database on the real server (dropped afterwards),
 * or an in-memory PGlite. Migrated unless `migrate: false`.
 */
export async function createTestDb(opts: { migrate?: boolean } = {}): Promise<TestDb> {
  const base = testDatabaseUrl();
  if (!base) {
    const db = await connect({ dataDir: 'memory://' });
    if (opts.migrate !== false) await migrateToLatest(db.db);
    return {
      ...db,
      cleanup: () => db.close(),
      // PGlite is one in-process connection: a second "replica" shares it.
      another: async () => ({ ...db, close: async () => undefined }),
    };
  }
  const name = `billops_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(base, name);
  const db = await connect({ url, poolSize: 8 });
  if (opts.migrate !== false) await migrateToLatest(db.db);
  const others: Db[] = [];
  return {
    ...db,
    another: async () => {
      const o = await connect({ url, poolSize: 4 });
      others.push(o);
      return o;
    },
    cleanup: async () => {
      await Promise.all(others.map((o) => o.close()));
      await db.close();
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      try {
        await a.query(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}
