import { once } from 'node:events';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Database, Db } from '../db/index.js';
import type { GlEntryDraft, GlSourceSystem } from './types.js';

/**
 * Bulk loading of GL drafts into `gl_entries` inside one transaction, through a staging table.
 *
 * Drafts are gathered into chunks of `CHUNK_ROWS`. Each chunk goes into the temp table `gl_staging`
 * (PostgreSQL: `COPY … FROM STDIN` through pg-copy-streams; PGlite, which has no wire protocol to COPY
 * over: multi-row INSERTs), then moves on with one set-based
 * `insert into gl_entries … select … from gl_staging on conflict (line_key) do nothing`, and the
 * staging table is emptied for the next chunk. While the database works on one chunk the parser
 * reads the next, so on a large file parsing and loading overlap instead of adding up; memory holds
 * at most two chunks whatever the file size.
 */

/** Rows per chunk: large enough for set-based inserts to pay off, small enough to keep memory flat. */
export const CHUNK_ROWS = 20_000;
/** Rows per INSERT into the staging table on PGlite (14 parameters a row, well under 65,535). */
export const PGLITE_INSERT_ROWS = 1000;

/** Staging columns, in COPY order. Source system and file are the same for every row: added on insert. */
const STAGING_COLUMNS = [
  'source_line',
  'line_key',
  'entry_date',
  'account',
  'amount',
  'currency',
  'reference',
  'memo',
  'customer_name',
  'external_id',
  'transaction_type',
  'accounting_period',
  'stripe_ids',
  'invoice_numbers',
] as const;

const CREATE_STAGING = `
  create temp table gl_staging (
    source_line integer not null,
    line_key text collate "C" not null,
    entry_date date not null,
    account text not null,
    amount bigint not null,
    currency text not null,
    reference text,
    memo text,
    customer_name text,
    external_id text,
    transaction_type text,
    accounting_period text,
    stripe_ids text[] not null,
    invoice_numbers text[] not null
  ) on commit drop`;

/** What every entry of a chunk shares. */
export interface ChunkTarget {
  importId: bigint;
  sourceSystem: GlSourceSystem;
  sourceFile: string;
  createdAt: Date;
}

/** Drafts gathered for one load, in the form the database takes them. */
export interface Chunk {
  readonly rows: number;
}

export interface ChunkBuilder {
  readonly rows: number;
  add(drafts: readonly GlEntryDraft[]): void;
  /** Hands out what was added as a chunk and starts a new one. */
  take(): Chunk;
}

/** An open transaction with an empty staging table. */
export interface ImportSession {
  /** Kysely bound to the transaction; not to be used while a `load` is running. */
  readonly db: Kysely<Database>;
  newChunk(): ChunkBuilder;
  /** Stage the chunk and move it into gl_entries; resolves with how many rows were new. */
  load(chunk: Chunk, target: ChunkTarget): Promise<number>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export async function openImportSession(db: Db): Promise<ImportSession> {
  return db.pool ? openPgSession(db.pool) : openPgliteSession(db.db);
}

/** The set-based move from staging into gl_entries; existing line keys are skipped. */
async function moveStaged(db: Kysely<Database>, t: ChunkTarget): Promise<number> {
  const res = await sql`
    insert into gl_entries (
      import_id, source_system, source_file, source_line, line_key, entry_date, account, amount, currency,
      reference, memo, customer_name, external_id, transaction_type, accounting_period, stripe_ids, invoice_numbers, created_at)
    select ${t.importId}::bigint, ${t.sourceSystem}, ${t.sourceFile}, source_line, line_key, entry_date, account, amount, currency,
      reference, memo, customer_name, external_id, transaction_type, accounting_period, stripe_ids, invoice_numbers, ${t.createdAt}::timestamptz
    from gl_staging
    -- In key order the unique index is walked once, leaf by leaf, instead of at random.
    order by line_key
    on conflict (line_key) do nothing`.execute(db);
  await sql`truncate gl_staging`.execute(db);
  return Number(res.numAffectedRows ?? 0n);
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL: COPY
// ---------------------------------------------------------------------------------------------------

/** Kysely on one checked-out client, so its queries run inside the transaction the client holds. */
function kyselyOnClient(client: pg.PoolClient): Kysely<Database> {
  const pool = {
    connect: async () => ({ query: client.query.bind(client), release: () => undefined }),
    end: async () => undefined,
  };
  // `as never`: pg's PoolClient.query overloads are wider than Kysely's PostgresPoolClient.
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: pool as never }) });
}

async function openPgSession(pool: pg.Pool): Promise<ImportSession> {
  const client = await pool.connect();
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    client.release(err);
  };
  try {
    await client.query('begin');
    // Room to sort a chunk by line key in memory (the default 4 MB spills a 50,000-row chunk to disk).
    await client.query("set local work_mem = '64MB'");
    await client.query(CREATE_STAGING);
  } catch (err) {
    release(err as Error);
    throw err;
  }
  const db = kyselyOnClient(client);
  let copying: ReturnType<typeof copyFrom> | null = null;
  return {
    db,
    newChunk: () => new CopyChunkBuilder(),
    async load(chunk, target) {
      const { bytes } = chunk as CopyChunk;
      if (bytes.length > 0) {
        const stream = client.query(copyFrom(COPY_SQL));
        copying = stream;
        try {
          // 'error' rejects these waits as well (events.once), so a failing COPY never hangs here; `done`
          // is handled now in case the failure surfaces while waiting for 'drain' instead.
          const done = once(stream, 'finish');
          done.catch(() => undefined);
          for (let at = 0; at < bytes.length; at += COPY_WRITE_BYTES) {
            if (!stream.write(bytes.subarray(at, at + COPY_WRITE_BYTES))) await once(stream, 'drain');
          }
          stream.end();
          await done;
        } finally {
          copying = null;
        }
      }
      return moveStaged(db, target);
    },
    async commit() {
      try {
        await client.query('commit');
        release();
      } catch (err) {
        release(err as Error);
        throw err;
      }
    },
    async rollback() {
      if (released) return;
      try {
        // A COPY in progress is cancelled (pg-copy-streams sends CopyFail) before the rollback.
        if (copying && !copying.destroyed) copying.destroy();
        await client.query('rollback');
        release();
      } catch (err) {
        // A connection that cannot roll back is not given back to the pool.
        release(err as Error);
      }
    },
  };
}

/** COPY data goes to the socket in pieces of this size. */
const COPY_WRITE_BYTES = 256 * 1024;

const COPY_SQL = `copy gl_staging (${STAGING_COLUMNS.join(', ')}) from stdin`;

interface CopyChunk extends Chunk {
  bytes: Buffer;
}

/** Initial size of each COPY buffer; it doubles when a chunk of long memos needs more. */
const COPY_BUFFER_BYTES = 6 * 1024 * 1024;

/**
 * COPY text written straight into one of two reusable buffers: the chunk being loaded owns one, the
 * chunk being built the other (the service starts a load only after the previous one finished). No
 * garbage per row and a fixed memory ceiling, where a string built row by row would be a rope of
 * slices keeping the whole decoded input alive.
 */
class CopyChunkBuilder implements ChunkBuilder {
  private readonly pair: [Buffer, Buffer] = [Buffer.allocUnsafeSlow(COPY_BUFFER_BYTES), Buffer.allocUnsafeSlow(COPY_BUFFER_BYTES)];
  private current = 0;
  private used = 0;
  rows = 0;

  add(drafts: readonly GlEntryDraft[]): void {
    let buf = this.pair[this.current] as Buffer;
    let used = this.used;
    for (const d of drafts) {
      const row = copyRow(d);
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      if (used + row.length * 3 > buf.length) {
        const bigger = Buffer.allocUnsafeSlow(Math.max(buf.length * 2, used + row.length * 3));
        buf.copy(bigger, 0, 0, used);
        this.pair[this.current] = bigger;
        buf = bigger;
      }
      used += buf.write(row, used, 'utf8');
    }
    this.used = used;
    this.rows += drafts.length;
  }

  take(): CopyChunk {
    const chunk = { bytes: (this.pair[this.current] as Buffer).subarray(0, this.used), rows: this.rows };
    this.current = 1 - this.current;
    this.used = 0;
    this.rows = 0;
    return chunk;
  }
}

/** COPY text format: backslash, tab, newline and carriage return escaped; `\N` is NULL. */
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIAL_ALL = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function copyText(v: string): string {
  return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c] ?? c) : v;
}

function copyNullable(v: string | null): string {
  return v === null ? '\\N' : copyText(v);
}

/** Elements that need no quotes inside an array literal. */
const PLAIN_ELEMENT = /^[A-Za-z0-9_.:/#-]+$/;

/** A text[] literal (`{a,"b c"}`), before COPY escaping. */
export function arrayLiteral(values: readonly string[]): string {
  if (values.length === 0) return '{}';
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? '';
    if (i > 0) out += ',';
    out += PLAIN_ELEMENT.test(v) && v.toUpperCase() !== 'NULL' ? v : `"${v.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

/** One draft as a line of COPY text. */
export function copyRow(d: GlEntryDraft): string {
  return (
    `${d.lineNumber}\t${d.lineKey}\t${d.date}\t${copyText(d.account)}\t${d.amountMinor}\t${d.currency}\t` +
    `${copyNullable(d.reference)}\t${copyNullable(d.memo)}\t${copyNullable(d.customerName)}\t${copyNullable(d.externalId)}\t` +
    `${copyNullable(d.transactionType)}\t${copyNullable(d.accountingPeriod)}\t` +
    `${copyText(arrayLiteral(d.stripeIds))}\t${copyText(arrayLiteral(d.invoiceNumbers))}\n`
  );
}

// ---------------------------------------------------------------------------------------------------
// PGlite: multi-row INSERTs inside a Kysely controlled transaction
// ---------------------------------------------------------------------------------------------------

async function openPgliteSession(db: Kysely<Database>): Promise<ImportSession> {
  const trx = await db.startTransaction().execute();
  try {
    await sql.raw(CREATE_STAGING).execute(trx);
  } catch (err) {
    await trx.rollback().execute();
    throw err;
  }
  let open = true;
  return {
    db: trx,
    newChunk: () => new DraftChunkBuilder(),
    async load(chunk, target) {
      const { drafts } = chunk as DraftChunk;
      for (let i = 0; i < drafts.length; i += PGLITE_INSERT_ROWS) {
        await insertStaging(trx, drafts.slice(i, i + PGLITE_INSERT_ROWS));
      }
      return moveStaged(trx, target);
    },
    async commit() {
      open = false;
      await trx.commit().execute();
    },
    async rollback() {
      if (!open) return;
      open = false;
      await trx.rollback().execute();
    },
  };
}

interface DraftChunk extends Chunk {
  drafts: GlEntryDraft[];
}

class DraftChunkBuilder implements ChunkBuilder {
  private drafts: GlEntryDraft[] = [];

  get rows(): number {
    return this.drafts.length;
  }

  add(drafts: readonly GlEntryDraft[]): void {
    for (const d of drafts) this.drafts.push(d);
  }

  take(): DraftChunk {
    const chunk = { drafts: this.drafts, rows: this.drafts.length };
    this.drafts = [];
    return chunk;
  }
}

async function insertStaging(db: Kysely<Database>, rows: readonly GlEntryDraft[]): Promise<void> {
  const values = rows.map(
    (d) =>
      sql`(${d.lineNumber}, ${d.lineKey}, ${d.date}::date, ${d.account}, ${String(d.amountMinor)}::bigint, ${d.currency}, ${d.reference}, ${d.memo}, ${d.customerName}, ${d.externalId}, ${d.transactionType}, ${d.accountingPeriod}, ${arrayLiteral(d.stripeIds)}::text[], ${arrayLiteral(d.invoiceNumbers)}::text[])`,
  );
  await sql`insert into gl_staging (${sql.join(STAGING_COLUMNS.map((c) => sql.ref(c)))}) values ${sql.join(values)}`.execute(db);
}
