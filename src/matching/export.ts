import { once } from 'node:events';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../db/index.js';
import { minorToDecimal } from '../money/index.js';
import { UserError } from '../util/index.js';

/**
 * `billops export matches|exceptions|audit`: what the reconciliation concluded, as CSV or JSON, for
 * auditors and spreadsheets. Rows are read through a server-side cursor and written as they arrive,
 * so a million matches never sit in memory. Ordering uses stable keys (billing record keys, GL line
 * keys, dedupe keys) in byte order, and every value is formatted the same way every time, so
 * exporting again after a rerun that changed nothing gives the same bytes.
 */

export const EXPORT_KINDS = ['matches', 'exceptions', 'audit'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
export const EXPORT_FORMATS = ['csv', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  kind: ExportKind;
  format: ExportFormat;
  /**
   * Inclusive calendar days (`YYYY-MM-DD`): matches by their billing date (the GL date for an
   * expected GL-only entry), exceptions by the day they were opened, audit entries by when they
   * happened — days in `timezone`.
   */
  from?: string | undefined;
  to?: string | undefined;
  /** The org's time zone, for exceptions' and audit entries' days. */
  timezone?: string | undefined;
  /** Rows fetched per round trip. */
  batchSize?: number | undefined;
}

export interface ExportResult {
  rows: number;
}

/** A sink rows are written to: stdout, a file stream, a test's PassThrough. */
export interface ExportSink {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  /** Node streams say when they failed; `events.once` rejects on an 'error' while waiting for 'drain'. */
  readonly errored?: Error | null;
  readonly destroyed?: boolean;
}

type Cell = string | null;
interface Column {
  name: string;
  /** Free text that came from outside (names, memos, notes): guarded against spreadsheet formulas. */
  text?: boolean;
  /** Structured value (JSON in the JSON export, its JSON text in CSV). */
  json?: boolean;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A `YYYY-MM-DD` that is a real calendar day, or a UserError naming the option. */
export function parseDay(value: string | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const d = new Date(`${v}T00:00:00Z`);
  if (!DAY.test(v) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) {
    throw new UserError(`${option} "${value}" is not a date (expected YYYY-MM-DD, e.g. 2026-10-01).`, { field: option });
  }
  return v;
}

export function checkRange(from: string | undefined, to: string | undefined): void {
  if (from && to && from > to) throw new UserError(`--from ${from} is after --to ${to}.`, { field: 'from' });
}

function iso(d: Date | string | null): Cell {
  if (d === null) return null;
  return (d instanceof Date ? d : new Date(d)).toISOString();
}

function decimal(amount: bigint | string | null, currency: string | null): Cell {
  if (amount === null) return null;
  const a = typeof amount === 'bigint' ? amount : BigInt(amount);
  return currency ? minorToDecimal(a, currency) : a.toString();
}

function jsonText(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// ---------------------------------------------------------------------------------------------
// Queries: each returns rows already in export order, and a mapper to cells
// ---------------------------------------------------------------------------------------------

interface Source {
  columns: Column[];
  query: RawBuilder<Record<string, unknown>>;
  cells(row: Record<string, unknown>): Cell[];
}

function dayRange(col: RawBuilder<unknown>, from: string | undefined, to: string | undefined): RawBuilder<unknown> {
  const conds: RawBuilder<unknown>[] = [];
  if (from) conds.push(sql`${col} >= ${from}::date`);
  if (to) conds.push(sql`${col} <= ${to}::date`);
  return conds.length ? sql.join(conds, sql` and `) : sql`true`;
}

interface MatchRow {
  match_id: bigint;
  run_id: bigint;
  rule_name: string;
  rule_kind: string;
  variance_kind: string;
  variance_amount: bigint;
  variance_currency: string | null;
  created_at: Date;
  record_key: string | null;
  billing_kind: string | null;
  billing_stripe_id: string | null;
  billing_txn: string | null;
  billing_sources: string | null;
  billing_amount: bigint | null;
  billing_currency: string | null;
  occurred_on: string | null;
  gl_source: string | null;
  line_key: string | null;
  account: string | null;
  gl_amount: bigint | null;
  gl_currency: string | null;
  entry_date: string | null;
}

function matchesSource(o: ExportOptions): Source {
  const columns: Column[] = [
    { name: 'match_id' },
    { name: 'run_id' },
    { name: 'rule' },
    { name: 'rule_kind' },
    { name: 'variance_kind' },
    { name: 'variance' },
    { name: 'variance_currency' },
    { name: 'billing_record_key' },
    { name: 'billing_kind' },
    { name: 'billing_stripe_id' },
    { name: 'billing_balance_transaction' },
    { name: 'billing_source_ids' },
    { name: 'billing_amount' },
    { name: 'billing_currency' },
    { name: 'billing_date' },
    { name: 'gl_entry' },
    { name: 'gl_line_key' },
    { name: 'gl_account', text: true },
    { name: 'gl_amount' },
    { name: 'gl_currency' },
    { name: 'gl_date' },
    { name: 'matched_at' },
  ];
  // One row per (billing member, GL member) of each match; a side without members gives one row
  // with that side empty. Matches are ordered by their smallest billing key, then smallest GL key.
  const query = sql<Record<string, unknown>>`
    with mb as (
      select x.match_id, b.record_key collate "C" as record_key, b.kind, b.stripe_id, b.amount, b.currency, b.occurred_on,
        (select r from unnest(b.refs) with ordinality u(r, i) where r like 'txn\\_%' order by i limit 1) as txn,
        array_to_string(array(select r from unnest(b.refs) with ordinality u(r, i)
          where r <> b.stripe_id and r not like 'txn\\_%' order by i), ' ') as sources
      from recon_match_members x join recon_billing_records b on b.id = x.record_id
      where x.side = 'billing'
    ), mg as (
      select x.match_id, g.source_file || ':' || g.source_line as gl_source, g.line_key collate "C" as line_key, g.account,
        g.amount, g.currency, g.entry_date
      from recon_match_members x join gl_entries g on g.id = x.record_id
      where x.side = 'gl'
    ), k as (
      select m.id, coalesce(bk.key, '') as bkey, coalesce(gk.key, '') as gkey, coalesce(bk.d, gk.d) as d
      from recon_matches m
      left join (select match_id, min(record_key) as key, min(occurred_on) as d from mb group by match_id) bk on bk.match_id = m.id
      left join (select match_id, min(line_key) as key, min(entry_date) as d from mg group by match_id) gk on gk.match_id = m.id
    )
    select m.id as match_id, m.run_id, m.rule_name, m.rule_kind, m.variance_kind, m.variance_amount, m.variance_currency, m.created_at,
      mb.record_key, mb.kind as billing_kind, mb.stripe_id as billing_stripe_id, mb.txn as billing_txn, mb.sources as billing_sources,
      mb.amount as billing_amount, mb.currency as billing_currency, mb.occurred_on::text as occurred_on,
      mg.gl_source, mg.line_key, mg.account, mg.amount as gl_amount, mg.currency as gl_currency, mg.entry_date::text as entry_date
    from k join recon_matches m on m.id = k.id
    left join mb on mb.match_id = m.id
    left join mg on mg.match_id = m.id
    where ${dayRange(sql`k.d`, o.from, o.to)}
    order by k.bkey, k.gkey, mb.record_key nulls first, mg.line_key nulls first`;
  return {
    columns,
    query,
    cells(raw) {
      const r = raw as unknown as MatchRow;
      return [
        r.match_id.toString(),
        r.run_id.toString(),
        r.rule_name,
        r.rule_kind,
        r.variance_kind,
        decimal(r.variance_amount, r.variance_currency),
        r.variance_currency,
        r.record_key,
        r.billing_kind,
        r.billing_stripe_id,
        r.billing_txn,
        r.billing_sources || null,
        decimal(r.billing_amount, r.billing_currency),
        r.billing_currency,
        r.occurred_on,
        r.gl_source,
        r.line_key,
        r.account,
        decimal(r.gl_amount, r.gl_currency),
        r.gl_currency,
        r.entry_date,
        iso(r.created_at),
      ];
    },
  };
}

interface ExceptionExportRow {
  id: bigint;
  kind: string;
  status: string;
  severity: string;
  amount: bigint;
  currency: string;
  customer_id: string | null;
  customer_name: string | null;
  stripe_id: string | null;
  record_key: string | null;
  billing_kind: string | null;
  billing_txn: string | null;
  gl_source: string | null;
  line_key: string | null;
  reference: string | null;
  summary: string;
  assignee: string | null;
  snoozed_until: Date | null;
  opened_at: Date;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolution_code: string | null;
  resolution_note: string | null;
}

function localDay(col: RawBuilder<unknown>, tz: string): RawBuilder<unknown> {
  return sql`(${col} at time zone ${tz})::date`;
}

function exceptionsSource(o: ExportOptions): Source {
  const tz = o.timezone ?? 'UTC';
  const columns: Column[] = [
    { name: 'exception_id' },
    { name: 'kind' },
    { name: 'status' },
    { name: 'severity' },
    { name: 'amount' },
    { name: 'currency' },
    { name: 'customer_id' },
    { name: 'customer_name', text: true },
    { name: 'stripe_id' },
    { name: 'billing_record_key' },
    { name: 'billing_kind' },
    { name: 'billing_balance_transaction' },
    { name: 'gl_entry' },
    { name: 'gl_line_key' },
    { name: 'reference', text: true },
    { name: 'summary', text: true },
    { name: 'assignee' },
    { name: 'snoozed_until' },
    { name: 'opened_at' },
    { name: 'resolved_at' },
    { name: 'resolved_by' },
    { name: 'resolution_code' },
    { name: 'resolution_note', text: true },
  ];
  const query = sql<Record<string, unknown>>`
    select e.id, e.kind, e.status, e.severity, e.amount, e.currency, e.customer_id, e.customer_name,
      e.stripe_id, b.record_key, b.kind as billing_kind,
      (select r from unnest(b.refs) with ordinality u(r, i) where r like 'txn\\_%' order by i limit 1) as billing_txn,
      g.source_file || ':' || g.source_line as gl_source, g.line_key, e.reference, e.summary, e.assignee, e.snoozed_until,
      e.opened_at, e.resolved_at, e.resolved_by, e.resolution_code, e.resolution_note
    from exceptions e
    left join recon_billing_records b on b.id = e.billing_record_id
    left join gl_entries g on g.id = e.gl_entry_id
    where ${dayRange(localDay(sql`e.opened_at`, tz), o.from, o.to)}
    order by e.dedupe_key collate "C"`;
  return {
    columns,
    query,
    cells(raw) {
      const r = raw as unknown as ExceptionExportRow;
      return [
        r.id.toString(),
        r.kind,
        r.status,
        r.severity,
        decimal(r.amount, r.currency),
        r.currency,
        r.customer_id,
        r.customer_name,
        r.stripe_id,
        r.record_key,
        r.billing_kind,
        r.billing_txn,
        r.gl_source,
        r.line_key,
        r.reference,
        r.summary,
        r.assignee,
        iso(r.snoozed_until),
        iso(r.opened_at),
        iso(r.resolved_at),
        r.resolved_by,
        r.resolution_code,
        r.resolution_note,
      ];
    },
  };
}

interface AuditExportRow {
  id: bigint;
  occurred_at: Date;
  actor_kind: string;
  actor_id: string;
  actor_name: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  source: string;
  before: unknown;
  after: unknown;
  context: unknown;
}

function auditSource(o: ExportOptions): Source {
  const tz = o.timezone ?? 'UTC';
  const columns: Column[] = [
    { name: 'audit_id' },
    { name: 'occurred_at' },
    { name: 'actor_kind' },
    { name: 'actor_id' },
    { name: 'actor_name', text: true },
    { name: 'action' },
    { name: 'entity_type' },
    { name: 'entity_id' },
    { name: 'source' },
    { name: 'before', json: true },
    { name: 'after', json: true },
    { name: 'context', json: true },
  ];
  // The log is append-only: its id is the order things happened in and never changes.
  const query = sql<Record<string, unknown>>`
    select id, occurred_at, actor_kind, actor_id, actor_name, action, entity_type, entity_id, source, before, after, context
    from audit_log
    where ${dayRange(localDay(sql`occurred_at`, tz), o.from, o.to)}
    order by occurred_at, id`;
  return {
    columns,
    query,
    cells(raw) {
      const r = raw as unknown as AuditExportRow;
      return [
        r.id.toString(),
        iso(r.occurred_at),
        r.actor_kind,
        r.actor_id,
        r.actor_name,
        r.action,
        r.entity_type,
        r.entity_id,
        r.source,
        jsonText(r.before),
        jsonText(r.after),
        jsonText(r.context),
      ];
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------

/** RFC 4180 quoting; text from outside that a spreadsheet would run as a formula gets a leading `'`. */
export function csvCell(value: Cell, text = false): string {
  if (value === null) return '';
  let v = value;
  if (text && /^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return /[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function csvLine(columns: Column[], cells: Cell[]): string {
  return `${cells.map((c, i) => csvCell(c, columns[i]?.text === true)).join(',')}\n`;
}

function jsonObject(columns: Column[], cells: Cell[]): string {
  const obj: Record<string, unknown> = {};
  columns.forEach((c, i) => {
    const v = cells[i] ?? null;
    obj[c.name] = c.json && v !== null ? (JSON.parse(v) as unknown) : v;
  });
  return JSON.stringify(obj);
}

async function write(sink: ExportSink, chunk: string): Promise<void> {
  if (!chunk) return;
  // a destination that failed (disk full, closed pipe) never drains: stop instead of waiting forever
  const failed = () => sink.errored ?? (sink.destroyed ? new Error('the export destination was closed') : null);
  const before = failed();
  if (before) throw before;
  if (sink.write(chunk)) return;
  const after = failed();
  if (after) throw after;
  await once(sink as unknown as NodeJS.EventEmitter, 'drain');
}

/**
 * Write one export to `sink`, reading through a cursor in a read-only transaction (one consistent
 * snapshot from the first row to the last).
 */
export async function writeExport(db: Kysely<Database>, sink: ExportSink, o: ExportOptions): Promise<ExportResult> {
  if (!(EXPORT_KINDS as readonly string[]).includes(o.kind)) {
    throw new UserError(`Cannot export "${o.kind}" (expected ${EXPORT_KINDS.join(', ')}).`, { field: 'kind' });
  }
  if (!(EXPORT_FORMATS as readonly string[]).includes(o.format)) {
    throw new UserError(`--format ${o.format} is not a format billops writes (expected ${EXPORT_FORMATS.join(' or ')}).`, { field: 'format' });
  }
  const opts = { ...o, from: parseDay(o.from, '--from'), to: parseDay(o.to, '--to') };
  checkRange(opts.from, opts.to);
  const source = opts.kind === 'matches' ? matchesSource(opts) : opts.kind === 'exceptions' ? exceptionsSource(opts) : auditSource(opts);
  const batch = opts.batchSize ?? 2000;
  const csv = opts.format === 'csv';

  await write(sink, csv ? csvLine(source.columns, source.columns.map((c) => c.name)) : '[');
  let rows = 0;
  await db.transaction().execute(async (trx) => {
    await sql`set transaction read only`.execute(trx);
    await sql`declare billops_export no scroll cursor for ${source.query}`.execute(trx);
    for (;;) {
      const res = await sql<Record<string, unknown>>`fetch forward ${sql.lit(batch)} from billops_export`.execute(trx);
      if (res.rows.length === 0) break;
      let chunk = '';
      for (const row of res.rows) {
        const cells = source.cells(row);
        chunk += csv ? csvLine(source.columns, cells) : `${rows === 0 ? '\n' : ',\n'}${jsonObject(source.columns, cells)}`;
        rows++;
      }
      await write(sink, chunk);
    }
    await sql`close billops_export`.execute(trx);
  });
  if (!csv) await write(sink, rows === 0 ? ']\n' : '\n]\n');
  return { rows };
}
