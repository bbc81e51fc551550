import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite, types as pgliteTypes } from '@electric-sql/pglite';
import { Kysely, type KyselyConfig, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PGliteDialect } from './pglite-dialect.js';
import type { Database } from './types.js';

const OID = { INT8: 20, NUMERIC: 1700, DATE: 1082 } as const;

/**
 * int8 → bigint (money in minor units, counts), numeric → string, date → 'YYYY-MM-DD' string:
 * nothing that holds money or a calendar day ever passes through a float or a local-time Date.
 */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === OID.INT8) return (v: string) => BigInt(v);
    if (oid === OID.NUMERIC || oid === OID.DATE) return (v: string) => v;
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

export interface Db {
  readonly db: Kysely<Database>;
  readonly kind: 'pg' | 'pglite';
  /** Connection string for PostgreSQL (null on embedded PGlite). */
  readonly url: string | null;
  /** The underlying pool, for COPY streams; null on PGlite. */
  readonly pool: pg.Pool | null;
  /** The PGlite instance, for bulk paths that bypass Kysely; null on PostgreSQL. */
  readonly pglite: PGlite | null;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** PostgreSQL URL. When absent, embedded PGlite is used. */
  url?: string | undefined;
  /** PGlite data folder; `memory://` keeps it in memory. */
  dataDir?: string;
  poolSize?: number;
  /** Application name shown in pg_stat_activity. */
  applicationName?: string;
  /** Kysely's query log hook (benchmarks use it to find slow statements). */
  log?: KyselyConfig['log'];
}

export async function connect(opts: ConnectOptions): Promise<Db> {
  if (opts.url) {
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      types: pgTypes,
      application_name: opts.applicationName ?? 'billops',
      connectionTimeoutMillis: 10_000,
      // Reconciliation's working tables are session temp tables; PostgreSQL's default 8 MB of
      // temp buffers would spill a month's open records to files. The memory is taken only by a
      // session that uses it, and this can only be set before a session's first temp table.
      options: '-c temp_buffers=256MB',
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(opts.log ? { log: opts.log } : {}) });
    return {
      db,
      kind: 'pg',
      url: opts.url,
      pool,
      pglite: null,
      close: () => db.destroy(),
    };
  }
  const dataDir = opts.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
  const pglite = new PGlite(dataDir.startsWith('memory://') ? dataDir : path.resolve(dataDir), {
    parsers: {
      [pgliteTypes.INT8]: (v: string) => BigInt(v),
      [pgliteTypes.NUMERIC]: (v: string) => v,
      [pgliteTypes.DATE]: (v: string) => v,
    },
    serializers: {
      // PGlite's default serializer cannot take a bigint for an untyped parameter.
      [pgliteTypes.INT8]: (v: unknown) => String(v),
    },
  });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite), ...(opts.log ? { log: opts.log } : {}) });
  return {
    db,
    kind: 'pglite',
    url: null,
    pool: null,
    pglite,
    close: () => db.destroy(),
  };
}

/** True when the database answers within the timeout. */
export async function ping(db: Kysely<Database>, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const query = sql`select 1 as ok`.execute(db).then(() => true as const);
    return await Promise.race([query, timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
