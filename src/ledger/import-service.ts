import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import type { Database, Db } from '../db/index.js';
import { type Clock, type Logger, silentLogger, stringifyJson, systemClock } from '../util/index.js';
import type { LedgerConfig } from './config-schema.js';
import { CHUNK_ROWS, type Chunk, type ChunkTarget, type ImportSession, openImportSession } from './loader.js';
import { openGlExportBatches } from './parse.js';
import type { GlImportVia } from './tables.js';
import { type DetectedGlFormat, type GlEntryDraft, type GlFormat, GlImportError, type GlParseError, type GlSourceSystem } from './types.js';

/** Problems listed in a refusal; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50;
/** Accounts kept in an import's record; `accountCount` has the full number. */
export const MAX_RECORDED_ACCOUNTS = 1000;

export interface GlImportRequest {
  /** The file's bytes, streamed. */
  input: Readable;
  /** As the person named it (shown in summaries, kept on every entry). */
  fileName: string;
  /** `--format`; detected when omitted. */
  format?: GlFormat | undefined;
  /** `--mapping` (a `ledger.generic.mappings` entry). */
  mapping?: string | undefined;
  /** `--currency`: currency of rows without a currency column. */
  currency?: string | undefined;
  actor: Actor;
  via: GlImportVia;
  /** Goes into the audit entry: Slack channel, message ts, file id … */
  context?: Record<string, unknown> | undefined;
  /** Called after each chunk of the file with the bytes and postings read so far. */
  onProgress?: ((p: GlImportProgress) => void) | undefined;
}

export interface GlImportProgress {
  bytes: number;
  rows: number;
}

export interface GlImportDeps {
  db: Db;
  /** The `ledger:` section of billops.yml. */
  ledger: LedgerConfig;
  clock?: Clock;
  logger?: Logger;
  /** Rows per staged chunk (loader.ts); smaller only in tests, to cross chunk boundaries cheaply. */
  chunkRows?: number;
}

/** Debit and credit totals of one currency, in minor units (both positive). */
export interface GlCurrencyTotals {
  currency: string;
  entries: number;
  debit: bigint;
  credit: bigint;
}

/** One recorded import (a `gl_imports` row), as people see it. */
export interface GlImportSummary {
  importId: bigint;
  fileName: string;
  sha256: string;
  sizeBytes: bigint;
  sourceSystem: GlSourceSystem;
  mapping: string | null;
  /** Postings read from the file. */
  rows: number;
  entriesNew: number;
  entriesExisting: number;
  accounts: string[];
  accountCount: number;
  dateFrom: string | null;
  dateTo: string | null;
  totals: GlCurrencyTotals[];
  importedBy: string;
  importedVia: GlImportVia;
  importedAt: Date;
  durationMs: number;
}

/** Where an import's time went, in milliseconds. */
export interface GlImportTimings {
  /** Reading, parsing and loading (they overlap: the database loads one chunk while the next is parsed). */
  load: number;
  /** Of `load`, the time parsing stood still waiting for the database to take the previous chunk. */
  waited: number;
  /** Waiting for the database after the last byte was parsed. */
  tail: number;
  commit: number;
}

export type GlImportResult =
  /** New postings recorded (possibly none, when an overlapping export had nothing new). */
  | { status: 'imported'; summary: GlImportSummary; timings: GlImportTimings }
  /** The same bytes were imported before: nothing was changed. */
  | { status: 'already_imported'; fileName: string; sha256: string; previous: GlImportSummary }
  /** Rows with problems: nothing was imported. */
  | {
      status: 'rejected';
      fileName: string;
      detected: DetectedGlFormat;
      /** The first `MAX_LISTED_PROBLEMS`, in file order. */
      problems: GlParseError[];
      problemCount: number;
      /** Postings that were readable. */
      rowsRead: number;
    };

/**
 * Import one GL export, all or nothing: the file is parsed as it streams in, its postings are
 * bulk-loaded in chunks through a staging table inside one transaction (see loader.ts), and only a
 * file without a single problem is committed. Postings already in `gl_entries` (same line key, from an
 * overlapping export) are skipped; the same file twice is recognised by its sha256 and changes
 * nothing. Every import is recorded in `gl_imports` and the audit log in the same transaction.
 *
 * Whole-file problems (unknown format, missing mapped columns, nothing after the header) throw a
 * `GlImportError`; row problems come back as a `rejected` result listing them.
 */
export async function importGlExport(deps: GlImportDeps, req: GlImportRequest): Promise<GlImportResult> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const started = performance.now();
  const hash = createHash('sha256');
  let bytes = 0;
  async function* tap(input: Readable): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash.update(buf);
      bytes += buf.length;
      yield buf;
    }
  }
  const tapped = Readable.from(tap(req.input), { objectMode: false });

  let opened: Awaited<ReturnType<typeof openGlExportBatches>>;
  try {
    opened = await openGlExportBatches(tapped, { format: req.format, mapping: req.mapping, currency: req.currency, config: deps.ledger });
  } catch (err) {
    req.input.destroy();
    throw err;
  }
  const { detected, batches } = opened;
  const chunkRows = deps.chunkRows ?? CHUNK_ROWS;
  const importedAt = clock.now();
  let sha256: string | null = null;
  let session: ImportSession | null = null;
  // One chunk loads while the next is parsed; `loading` is the load in flight.
  let loading: Promise<void> | null = null;
  try {
    session = await openImportSession(deps.db);
    // Recorded first so entries can point at it; its real sha256 and counts are filled in at the end.
    const { id: importId } = await session.db
      .insertInto('gl_imports')
      .values({
        source_system: detected.format,
        mapping: detected.mapping,
        file_name: req.fileName,
        sha256: `pending:${randomUUID()}`,
        size_bytes: 0n,
        rows_read: 0,
        entries_new: 0,
        entries_existing: 0,
        accounts: [],
        account_count: 0,
        date_from: null,
        date_to: null,
        totals: '{}',
        imported_by: req.actor.id,
        imported_via: req.via,
        imported_at: importedAt,
        duration_ms: 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const target: ChunkTarget = { importId, sourceSystem: detected.format, sourceFile: req.fileName, createdAt: importedAt };

    const stats = new RunningStats();
    const problems: GlParseError[] = [];
    let problemCount = 0;
    let entriesNew = 0;
    let waited = 0;
    let builder = session.newChunk();
    const load = (chunk: Chunk) => {
      const s = session as ImportSession;
      const p = s.load(chunk, target).then((n) => {
        entriesNew += n;
      });
      // Awaited before the next load or at the end; this only keeps a failure from being "unhandled" meanwhile.
      p.catch(() => undefined);
      return p;
    };
    for await (const batch of batches) {
      for (const row of batch) {
        const problem = row.kind === 'entry' ? nulProblem(row) : row;
        if (problem === null) {
          stats.add(row as GlEntryDraft);
          continue;
        }
        problemCount++;
        if (problems.length < MAX_LISTED_PROBLEMS) problems.push(problem);
      }
      // Once a problem is found nothing will be committed; reading on only collects the others.
      if (problemCount === 0) {
        builder.add(batch as GlEntryDraft[]);
        if (builder.rows >= chunkRows) {
          if (loading) {
            const w = performance.now();
            await loading;
            waited += performance.now() - w;
          }
          loading = load(builder.take());
        }
      }
      req.onProgress?.({ bytes, rows: stats.rows });
    }
    const parsedAt = performance.now();
    if (loading) await loading;
    loading = null;
    if (problemCount > 0) {
      await session.rollback();
      return { status: 'rejected', fileName: req.fileName, detected, problems, problemCount, rowsRead: stats.rows };
    }
    if (stats.rows === 0) {
      throw new GlImportError(
        `${req.fileName}: the header is on line ${detected.headerLine}, but no posting follows it (only totals, balances or blank lines). Nothing was imported.`,
      );
    }
    if (builder.rows > 0) await load(builder.take());
    sha256 = hash.digest('hex');

    const previous = await findImportBySha256(session.db, sha256);
    if (previous) {
      await session.rollback();
      return { status: 'already_imported', fileName: req.fileName, sha256, previous };
    }

    const rows = stats.rows;
    const entriesExisting = rows - entriesNew;
    const durationMs = Math.round(performance.now() - started);
    const totals = stats.totals();
    const accounts = stats.accounts();
    await session.db
      .updateTable('gl_imports')
      .set({
        sha256,
        size_bytes: BigInt(bytes),
        rows_read: rows,
        entries_new: entriesNew,
        entries_existing: entriesExisting,
        accounts: accounts.slice(0, MAX_RECORDED_ACCOUNTS),
        account_count: accounts.length,
        date_from: stats.dateFrom,
        date_to: stats.dateTo,
        totals: stringifyJson(totalsJson(totals)),
        duration_ms: durationMs,
      })
      .where('id', '=', importId)
      .execute();

    const summary: GlImportSummary = {
      importId,
      fileName: req.fileName,
      sha256,
      sizeBytes: BigInt(bytes),
      sourceSystem: detected.format,
      mapping: detected.mapping,
      rows,
      entriesNew,
      entriesExisting,
      accounts: accounts.slice(0, MAX_RECORDED_ACCOUNTS),
      accountCount: accounts.length,
      dateFrom: stats.dateFrom,
      dateTo: stats.dateTo,
      totals,
      importedBy: req.actor.id,
      importedVia: req.via,
      importedAt,
      durationMs,
    };
    await recordAudit(
      session.db,
      {
        actor: req.actor,
        action: 'gl.imported',
        entity: { type: 'gl_import', id: String(importId) },
        after: {
          file_name: req.fileName,
          sha256,
          size_bytes: bytes,
          source_system: detected.format,
          mapping: detected.mapping,
          rows,
          entries_new: entriesNew,
          entries_existing: entriesExisting,
          account_count: accounts.length,
          date_from: stats.dateFrom,
          date_to: stats.dateTo,
          totals: totalsJson(totals),
        },
        source: req.via,
        context: { file_name: req.fileName, ...req.context },
      },
      clock,
    );
    const beforeCommit = performance.now();
    await session.commit();
    session = null;
    const timings: GlImportTimings = {
      load: Math.round(parsedAt - started),
      waited: Math.round(waited),
      tail: Math.round(beforeCommit - parsedAt),
      commit: Math.round(performance.now() - beforeCommit),
    };
    logger.info({ importId, file: req.fileName, rows, entriesNew, entriesExisting, durationMs, timings }, 'GL export imported');
    return { status: 'imported', summary, timings };
  } catch (err) {
    // Let a load in flight finish (or fail) first, so nothing of it runs after the rollback.
    if (loading) await (loading as Promise<void>).catch(() => undefined);
    await session?.rollback();
    // Two imports of the same file at once: the second finds the first's sha256 on commit.
    if (sha256 !== null && isUniqueViolation(err, 'gl_imports_sha256_key')) {
      const previous = await findImportBySha256(deps.db.db, sha256);
      if (previous) return { status: 'already_imported', fileName: req.fileName, sha256, previous };
    }
    throw err;
  } finally {
    // Stop reading a file whose import ended early (an error before the end of the stream).
    await batches.return(undefined);
    if (!req.input.destroyed) req.input.destroy();
  }
}

/**
 * PostgreSQL text cannot hold U+0000. A cell with one is almost always a UTF-16 file read as UTF-8
 * (Excel's "Unicode text"), so say that rather than fail deep in the database.
 */
const hasNul = (t: string | null) => t !== null && t.includes('\u0000');

function nulProblem(d: GlEntryDraft): GlParseError | null {
  const found =
    hasNul(d.account) || hasNul(d.reference) || hasNul(d.memo) || hasNul(d.customerName) ||
    hasNul(d.externalId) || hasNul(d.transactionType) || hasNul(d.accountingPeriod);
  if (!found) return null;
  return {
    kind: 'error',
    line: d.lineNumber,
    column: null,
    message: `line ${d.lineNumber}: contains a NUL character, which cannot be stored (a UTF-16 file without its byte-order mark? Export it again as a UTF-8 CSV)`,
  };
}

/** Distinct accounts tracked; a mapping that points "account" at a memo column must not eat memory. */
const MAX_TRACKED_ACCOUNTS = 100_000;

/** Totals, accounts and date range, kept as the rows go by. */
class RunningStats {
  rows = 0;
  dateFrom: string | null = null;
  dateTo: string | null = null;
  private readonly byCurrency = new Map<string, GlCurrencyTotals>();
  private readonly accountSet = new Set<string>();

  add(d: GlEntryDraft): void {
    this.rows++;
    if (this.dateFrom === null || d.date < this.dateFrom) this.dateFrom = d.date;
    if (this.dateTo === null || d.date > this.dateTo) this.dateTo = d.date;
    let t = this.byCurrency.get(d.currency);
    if (t === undefined) {
      t = { currency: d.currency, entries: 0, debit: 0n, credit: 0n };
      this.byCurrency.set(d.currency, t);
    }
    t.entries++;
    if (d.amountMinor > 0n) t.debit += d.amountMinor;
    else t.credit -= d.amountMinor;
    if (this.accountSet.size < MAX_TRACKED_ACCOUNTS) this.accountSet.add(d.account);
  }

  totals(): GlCurrencyTotals[] {
    return [...this.byCurrency.values()].sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
  }

  /** Sorted (code-point order, so it is the same everywhere). */
  accounts(): string[] {
    return [...this.accountSet].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string; message?: string } | null;
  if (!e || e.code !== '23505') return false;
  return e.constraint === constraint || (e.message ?? '').includes(constraint);
}

function totalsJson(totals: readonly GlCurrencyTotals[]): Record<string, { entries: number; debit: string; credit: string }> {
  const out: Record<string, { entries: number; debit: string; credit: string }> = {};
  for (const t of totals) out[t.currency] = { entries: t.entries, debit: t.debit.toString(), credit: t.credit.toString() };
  return out;
}

function parseTotals(json: unknown): GlCurrencyTotals[] {
  const obj = (typeof json === 'string' ? JSON.parse(json) : json) as Record<string, { entries?: number; debit?: string; credit?: string }> | null;
  if (!obj) return [];
  return Object.entries(obj)
    .map(([currency, t]) => ({ currency, entries: Number(t.entries ?? 0), debit: BigInt(t.debit ?? '0'), credit: BigInt(t.credit ?? '0') }))
    .sort((a, b) => a.currency.localeCompare(b.currency));
}

/** The recorded import of a file with these bytes, if any. */
export async function findImportBySha256(db: Kysely<Database>, sha256: string): Promise<GlImportSummary | null> {
  const r = await db.selectFrom('gl_imports').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  if (!r) return null;
  return {
    importId: r.id,
    fileName: r.file_name,
    sha256: r.sha256,
    sizeBytes: r.size_bytes,
    sourceSystem: r.source_system,
    mapping: r.mapping,
    rows: r.rows_read,
    entriesNew: r.entries_new,
    entriesExisting: r.entries_existing,
    accounts: r.accounts,
    accountCount: r.account_count,
    dateFrom: r.date_from,
    dateTo: r.date_to,
    totals: parseTotals(r.totals),
    importedBy: r.imported_by,
    importedVia: r.imported_via,
    importedAt: r.imported_at,
    durationMs: r.duration_ms,
  };
}
