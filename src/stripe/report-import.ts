import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';
import { type Kysely, sql } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import type { Database } from '../db/index.js';
import { MoneyError, currencyExponent, decimalToMinor } from '../money/index.js';
import { type Clock, ValidationError, stringifyJson, systemClock } from '../util/index.js';

/**
 * Stripe's "Balance change from activity — itemized" report (Reports → Balance, or the Reporting API's
 * `balance_change_from_activity.itemized.*`): one row per balance transaction, amounts in major units.
 * Columns are found by the names Stripe gives them, in any order; others are kept but not read.
 */
const REQUIRED = ['balance_transaction_id', 'created_utc', 'currency', 'gross', 'fee', 'net', 'reporting_category'] as const;
const OPTIONAL = [
  'available_on_utc',
  'source_id',
  'description',
  'customer_facing_amount',
  'customer_facing_currency',
  'automatic_payout_id',
  'customer_id',
  'customer_email',
  'customer_name',
  'invoice_id',
  'invoice_number',
  'subscription_id',
  'charge_id',
  'payment_intent_id',
] as const;
type Column = (typeof REQUIRED)[number] | (typeof OPTIONAL)[number];

/** Problems listed in the error; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 50;
const INSERT_BATCH = 500;

export interface ReportImportOptions {
  db: Kysely<Database>;
  /** The CSV bytes, streamed (a file stream, a download). */
  source: AsyncIterable<Buffer | string>;
  /** Shown in messages and kept with the import. */
  fileName: string;
  actor: Actor;
  /** Where the import came from for the audit log: `cli`, `slack`. */
  from?: string;
  clock?: Clock;
}

export interface ReportTotals {
  currency: string;
  rows: number;
  gross: bigint;
  fee: bigint;
  net: bigint;
}

export interface ReportImportResult {
  importId: bigint;
  rows: number;
  /** Rows whose balance transaction an earlier import already had (now replaced by this file's). */
  replaced: number;
  totals: ReportTotals[];
  sha256: string;
}

/** The file was refused; nothing was imported. `problems` lists the first 50, `total` counts all. */
export class ReportImportError extends ValidationError {
  override readonly name: string = 'ReportImportError';
  constructor(
    fileName: string,
    problems: readonly string[],
    readonly total: number,
  ) {
    super(
      `${fileName} was not imported (nothing was changed): ${total} problem${total === 1 ? '' : 's'}` +
        (total > problems.length ? `, the first ${problems.length} listed` : '') +
        ':',
      problems,
    );
  }
}

interface ParsedRow {
  line: number;
  values: Record<string, unknown>;
}

const LINE_BREAKS = /\r\n|\r|\n/g;

class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * CSV records with the physical line each starts on. Counted here rather than with csv-parse's
 * `info.lines`, which counts a CRLF inside a quoted field (a multi-line description) as two lines.
 */
async function* records(source: AsyncIterable<Buffer | string>): AsyncGenerator<{ fields: string[]; line: number }> {
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: false, max_record_size: 1_000_000 });
  const feeding = pipeline(Readable.from(source, { objectMode: false }), parser);
  feeding.catch(() => undefined);
  let next = 1;
  try {
    for await (const fields of parser as AsyncIterable<string[]>) {
      const line = next;
      next += 1 + fields.reduce((n, f) => n + (f.match(LINE_BREAKS)?.length ?? 0), 0);
      yield { fields, line };
    }
  } catch (err) {
    if (err instanceof CsvError) throw new CsvSyntaxError(next, `line ${next}: the file is not valid CSV from here on (${err.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted field is never closed' : err.message})`);
    throw err;
  } finally {
    parser.destroy();
  }
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?(?:\s*(?:Z|UTC|\+00:?00))?$/;

function parseUtc(text: string): Date | null {
  const m = DATE_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  // Date.UTC rolls 2026-02-30 over into March; a real date reads back the same.
  return date.getUTCDate() === Number(d) && date.getUTCMonth() === Number(mo) - 1 ? date : null;
}

/** "5000.00" JPY is 5000 exactly: zeros past the currency's decimals are not precision, so drop them. */
function trimZeros(text: string, currency: string): string {
  const exp = currencyExponent(currency);
  const m = /^([+-]?\d+)\.(\d*?)(0*)$/.exec(text);
  if (!m) return text;
  const [, whole = '', keep = '', zeros = ''] = m;
  const frac = (keep + zeros).slice(0, Math.max(exp, keep.length));
  return frac.length ? `${whole}.${frac}` : whole;
}

/**
 * `billops import stripe-report FILE`: stream the CSV, check every row, and import all of it in one
 * transaction — or, if any row is wrong, nothing, with every problem named by line and column.
 */
export async function importStripeReport(opts: ReportImportOptions): Promise<ReportImportResult> {
  const clock = opts.clock ?? systemClock;
  const hash = createHash('sha256');
  async function* hashed(): AsyncGenerator<Buffer | string> {
    for await (const chunk of opts.source) {
      hash.update(chunk);
      yield chunk;
    }
  }

  return opts.db.transaction().execute(async (trx) => {
    const now = clock.now();
    const created = await trx
      .insertInto('stripe_report_imports')
      .values({ file_name: opts.fileName, sha256: '', row_count: 0, imported_at: now, imported_by: opts.actor.id })
      .returning('id')
      .executeTakeFirstOrThrow();
    const importId = created.id;

    const problems: string[] = [];
    let problemCount = 0;
    const problem = (text: string) => {
      problemCount++;
      if (problems.length < MAX_LISTED_PROBLEMS) problems.push(text);
    };
    let header: string[] | null = null;
    let index: Partial<Record<Column, number>> = {};
    const seen = new Map<string, number>();
    const totals = new Map<string, ReportTotals>();
    let batch: ParsedRow[] = [];
    let rows = 0;
    let replaced = 0;

    const flush = async () => {
      if (batch.length === 0) return;
      if (problemCount === 0) replaced += await insertRows(trx, batch);
      batch = [];
    };

    const lines = records(hashed());
    for (;;) {
      let next: IteratorResult<{ fields: string[]; line: number }>;
      try {
        next = await lines.next();
      } catch (err) {
        if (!(err instanceof CsvSyntaxError)) throw err;
        problem(err.message);
        break;
      }
      if (next.done) break;
      const { fields, line } = next.value;
      if (fields.every((f) => f.trim() === '')) continue;
      if (!header) {
        header = fields.map((f) => f.replace(/^\uFEFF/, '').trim().toLowerCase());
        index = {};
        for (const c of [...REQUIRED, ...OPTIONAL]) {
          const i = header.indexOf(c);
          if (i >= 0) index[c] = i;
        }
        const missing = REQUIRED.filter((c) => index[c] === undefined);
        if (missing.length) {
          throw new ReportImportError(
            opts.fileName,
            [
              `line ${line}: the header has no ${missing.join(', ')} column${missing.length > 1 ? 's' : ''} ` +
                `(expected Stripe's "Balance change from activity — itemized" report with columns named as Stripe names them, e.g. balance_transaction_id, created_utc, currency, gross, fee, net, reporting_category)`,
            ],
            1,
          );
        }
        continue;
      }
      const cell = (c: Column): string => {
        const i = index[c];
        return i === undefined ? '' : (fields[i] ?? '').trim();
      };
      const at = (c: Column) => `line ${line}, column ${c}`;
      let ok = true;
      const bad = (c: Column, expected: string) => {
        ok = false;
        const v = cell(c);
        problem(`${at(c)}: expected ${expected}, found ${v === '' ? 'nothing' : `"${v}"`}`);
      };

      const id = cell('balance_transaction_id');
      if (!/^txn_[A-Za-z0-9]+$/.test(id)) bad('balance_transaction_id', 'a balance transaction id such as txn_1Q2w3E4r5T6y7U8i');
      else if (seen.has(id)) {
        ok = false;
        problem(`${at('balance_transaction_id')}: ${id} is already on line ${seen.get(id)}`);
      } else seen.set(id, line);

      const createdAt = parseUtc(cell('created_utc'));
      if (!createdAt) bad('created_utc', 'a UTC date and time such as 2026-10-03 14:22:10');
      const availableText = cell('available_on_utc');
      const availableOn = availableText === '' ? null : parseUtc(availableText);
      if (availableText !== '' && !availableOn) bad('available_on_utc', 'a UTC date and time such as 2026-10-05 00:00:00, or nothing');

      const currencyText = cell('currency');
      const currency = /^[A-Za-z]{3}$/.test(currencyText) ? currencyText.toUpperCase() : null;
      if (!currency) bad('currency', 'a three-letter currency code such as usd');

      const amount = (c: 'gross' | 'fee' | 'net' | 'customer_facing_amount', cur: string | null, optional = false): bigint | null => {
        const text = cell(c);
        if (text === '' && optional) return null;
        if (!cur) return null;
        try {
          return decimalToMinor(trimZeros(text, cur), cur);
        } catch (err) {
          if (!(err instanceof MoneyError)) throw err;
          const exp = currencyExponent(cur);
          bad(c, `an amount in ${cur} major units with ${exp === 0 ? 'no decimals' : `at most ${exp} decimals`}, such as ${exp === 0 ? '1500' : exp === 3 ? '12.500' : '12.50'}`);
          return null;
        }
      };
      const gross = amount('gross', currency);
      const fee = amount('fee', currency);
      const net = amount('net', currency);
      if (gross !== null && fee !== null && net !== null && gross - fee !== net) {
        ok = false;
        problem(`${at('net')}: expected gross − fee = ${(gross - fee).toString()} minor units of ${currency}, found ${net.toString()}`);
      }
      const category = cell('reporting_category');
      if (category === '') bad('reporting_category', 'a reporting category such as charge, refund, fee');

      const cfCurrencyText = cell('customer_facing_currency');
      const cfCurrency = /^[A-Za-z]{3}$/.test(cfCurrencyText) ? cfCurrencyText.toUpperCase() : null;
      if (cfCurrencyText !== '' && !cfCurrency) bad('customer_facing_currency', 'a three-letter currency code, or nothing');
      if (cell('customer_facing_amount') !== '' && cfCurrencyText === '') bad('customer_facing_currency', 'the currency of customer_facing_amount');
      const customerFacing = amount('customer_facing_amount', cfCurrency, true);

      if (!ok || !currency || !createdAt || gross === null || fee === null || net === null) continue;
      const t = totals.get(currency) ?? { currency, rows: 0, gross: 0n, fee: 0n, net: 0n };
      t.rows++;
      t.gross += gross;
      t.fee += fee;
      t.net += net;
      totals.set(currency, t);
      const text = (c: Column) => cell(c) || null;
      rows++;
      batch.push({
        line,
        values: {
          balance_transaction_id: id,
          import_id: importId,
          line,
          created: createdAt,
          available_on: availableOn,
          currency,
          gross,
          fee,
          net,
          reporting_category: category,
          source_id: text('source_id'),
          description: text('description'),
          customer_facing_amount: customerFacing,
          customer_facing_currency: cfCurrency,
          automatic_payout_id: text('automatic_payout_id'),
          customer_id: text('customer_id'),
          customer_email: text('customer_email'),
          customer_name: text('customer_name'),
          invoice_id: text('invoice_id'),
          invoice_number: text('invoice_number'),
          subscription_id: text('subscription_id'),
          charge_id: text('charge_id'),
          payment_intent_id: text('payment_intent_id'),
          columns: stringifyJson(Object.fromEntries((header ?? []).map((h, i) => [h, fields[i] ?? '']))),
        },
      });
      if (batch.length >= INSERT_BATCH) await flush();
    }
    if (!header) throw new ReportImportError(opts.fileName, ['line 1: the file is empty (expected a header row and one row per balance transaction)'], 1);
    if (problemCount > 0) throw new ReportImportError(opts.fileName, problems, problemCount);
    await flush();

    const sha256 = hash.digest('hex');
    await trx.updateTable('stripe_report_imports').set({ sha256, row_count: rows }).where('id', '=', importId).execute();
    const result: ReportImportResult = { importId, rows, replaced, totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)), sha256 };
    await recordAudit(
      trx,
      {
        actor: opts.actor,
        action: 'stripe.report.imported',
        entity: { type: 'stripe_report_import', id: String(importId) },
        after: { file: opts.fileName, sha256, rows, replaced, totals: result.totals },
        source: opts.from ?? 'cli',
      },
      clock,
    );
    return result;
  });
}

const ROW_COLUMNS = [
  'balance_transaction_id',
  'import_id',
  'line',
  'created',
  'available_on',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
  'source_id',
  'description',
  'customer_facing_amount',
  'customer_facing_currency',
  'automatic_payout_id',
  'customer_id',
  'customer_email',
  'customer_name',
  'invoice_id',
  'invoice_number',
  'subscription_id',
  'charge_id',
  'payment_intent_id',
  'columns',
] as const;

/** Insert a batch; a balance transaction an earlier report had is replaced. Returns how many were replaced. */
async function insertRows(db: Kysely<Database>, batch: readonly ParsedRow[]): Promise<number> {
  const values = batch.map((r) => sql`(${sql.join(ROW_COLUMNS.map((c) => r.values[c] ?? null))})`);
  const updates = sql.join(ROW_COLUMNS.filter((c) => c !== 'balance_transaction_id').map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`));
  const res = await sql<{ replaced: boolean }>`
    insert into stripe_report_rows (${sql.join(ROW_COLUMNS.map((c) => sql.ref(c)))})
    values ${sql.join(values)}
    on conflict (balance_transaction_id) do update set ${updates}
    returning (xmax::text <> '0') as replaced`.execute(db);
  return res.rows.filter((r) => r.replaced).length;
}
