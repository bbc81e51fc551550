import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { importGlFromCli } from '../../src/cli/commands/ledger.js';
import { importGlExport } from '../../src/ledger/index.js';
import type { Config } from '../../src/config/index.js';
import { ValidationError } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { collect, fixture, fixtureBytes, fixturePath } from './helpers.js';

/** billops.yml as an operator would write it: snake_case keys, the fixtures' generic mappings. */
const YAML = `
ledger:
  generic:
    mappings:
      eu-journal:
        delimiter: ";"
        skip_rows: 2
        date: Buchungsdatum
        date_format: DD.MM.YYYY
        decimal_separator: ","
        amount: Betrag
        currency: Währung
        account: Konto
        reference: Belegnummer
        memo: Buchungstext
        customer: Geschäftspartner
      jp-ledger:
        date: Date
        date_format: YYYY/MM/DD
        debit: Debit
        credit: Credit
        account: Account
        memo: Description
        reference: Voucher
        default_currency: JPY
`;

interface Row {
  import_id: bigint;
  source_system: string;
  source_file: string;
  source_line: number;
  line_key: string;
  entry_date: string;
  account: string;
  amount: bigint;
  currency: string;
  reference: string | null;
  memo: string | null;
  customer_name: string | null;
  external_id: string | null;
  transaction_type: string | null;
  accounting_period: string | null;
  stripe_ids: string[];
  invoice_numbers: string[];
}

/** Each fixture's postings as [line, date, account, minor units, currency], written out from the files. */
const EXPECTED: Record<string, Array<[number, string, string, bigint, string]>> = {
  'qbo-transaction-detail.csv': [
    [7, '2026-09-02', 'Stripe Clearing', 120000n, 'USD'],
    [8, '2026-09-03', 'Stripe Clearing', 1200000n, 'USD'],
    [11, '2026-09-04', 'Stripe Clearing', -37830n, 'USD'],
    [12, '2026-09-07', 'Stripe Clearing', -25000n, 'USD'],
    [13, '2026-09-08', 'Stripe Clearing', -1257170n, 'USD'],
    [16, '2026-09-01', 'Accounts Receivable (A/R)', 120000n, 'USD'],
    [17, '2026-09-01', 'Accounts Receivable (A/R)', 1200000n, 'USD'],
    [18, '2026-09-02', 'Accounts Receivable (A/R)', -120000n, 'USD'],
    [19, '2026-09-03', 'Accounts Receivable (A/R)', -1200000n, 'USD'],
    [20, '2026-09-07', 'Accounts Receivable (A/R)', 25000n, 'USD'],
    [23, '2026-09-04', 'Stripe Fees', 37830n, 'USD'],
    [26, '2026-09-01', 'Subscription Revenue', -120000n, 'USD'],
    [27, '2026-09-01', 'Subscription Revenue', -1200000n, 'USD'],
    [30, '2026-09-08', 'Operating Checking', 1257170n, 'USD'],
  ],
  'qbo-journal.csv': [
    [6, '2026-09-01', 'Accounts Receivable (A/R)', 120000n, 'USD'],
    [7, '2026-09-01', 'Subscription Revenue', -120000n, 'USD'],
    [10, '2026-09-04', 'Stripe Fees', 37830n, 'USD'],
    [11, '2026-09-04', 'Stripe Clearing', -37830n, 'USD'],
    [14, '2026-09-30', 'Operating Checking', 1257170n, 'USD'],
    [15, '2026-09-30', 'Stripe Clearing', -1257170n, 'USD'],
  ],
  'xero-account-transactions.csv': [
    [8, '2026-09-02', 'Stripe Clearing (610)', 180000n, 'GBP'],
    [9, '2026-09-04', 'Stripe Clearing (610)', -5420n, 'GBP'],
    [10, '2026-09-09', 'Stripe Clearing (610)', 96000n, 'GBP'],
    [11, '2026-09-15', 'Stripe Clearing (610)', -395580n, 'GBP'],
    [17, '2026-09-01', 'Sales (200)', -150000n, 'GBP'],
    [18, '2026-09-08', 'Sales (200)', -80000n, 'GBP'],
  ],
  'netsuite-gl-saved-search.csv': [
    [2, '2026-09-01', '11000 Accounts Receivable', 120000n, 'USD'],
    [3, '2026-09-01', '40000 Subscription Revenue', -120000n, 'USD'],
    [4, '2026-09-02', '11500 Stripe Clearing', 120000n, 'USD'],
    [5, '2026-09-02', '11000 Accounts Receivable', -120000n, 'USD'],
    [7, '2026-09-04', '61500 Merchant Fees', 37830n, 'USD'],
    [8, '2026-09-04', '11500 Stripe Clearing', -37830n, 'USD'],
    [9, '2026-09-08', '10100 Operating Checking', 1257170n, 'USD'],
    [10, '2026-09-08', '11500 Stripe Clearing', -1257170n, 'USD'],
    [11, '2026-09-15', '11000 Accounts Receivable', 1320000n, 'JPY'],
    [12, '2026-09-15', '40000 Subscription Revenue', -1200000n, 'JPY'],
    [13, '2026-09-15', '22000 Sales Tax Payable', -120000n, 'JPY'],
    [14, '2026-09-20', '20000 Accounts Payable', -15000n, 'USD'],
    [15, '2026-09-20', '61500 Merchant Fees', 10000n, 'USD'],
    [16, '2026-09-20', '61510 Billing Software', 5000n, 'USD'],
  ],
  'generic-eu-journal.csv': [
    [4, '2026-09-01', '1400 Forderungen', 119000n, 'EUR'],
    [5, '2026-09-01', '8400 Erlöse', -100000n, 'EUR'],
    [6, '2026-09-01', '1776 Umsatzsteuer 19 %', -19000n, 'EUR'],
    [7, '2026-09-03', '1361 Stripe Verrechnung', 119000n, 'EUR'],
    [8, '2026-09-03', '1400 Forderungen', -119000n, 'EUR'],
    [9, '2026-09-04', '4970 Nebenkosten des Geldverkehrs', 1756n, 'EUR'],
    [10, '2026-09-04', '1361 Stripe Verrechnung', -1756n, 'EUR'],
  ],
  'generic-jpy-ledger.csv': [
    [2, '2026-09-01', 'Accounts receivable', 132000n, 'JPY'],
    [3, '2026-09-01', 'Subscription revenue', -120000n, 'JPY'],
    [4, '2026-09-01', 'Consumption tax payable', -12000n, 'JPY'],
    [5, '2026-09-05', 'Stripe clearing', 132000n, 'JPY'],
    [6, '2026-09-05', 'Accounts receivable', -132000n, 'JPY'],
    [7, '2026-09-05', 'Stripe fees', 4752n, 'JPY'],
    [8, '2026-09-05', 'Stripe clearing', -4752n, 'JPY'],
  ],
};

const SOURCE: Record<string, string> = {
  'qbo-transaction-detail.csv': 'quickbooks',
  'qbo-journal.csv': 'quickbooks',
  'xero-account-transactions.csv': 'xero',
  'netsuite-gl-saved-search.csv': 'netsuite',
  'generic-eu-journal.csv': 'generic',
  'generic-jpy-ledger.csv': 'generic',
};

describe('billops import gl — into the database', () => {
  let t: TestDb;
  let config: Config;
  /** Xero's books are in pounds: no currency column, so org.functional_currency decides. */
  let gbpConfig: Config;
  let dir: string;
  const clock = new ManualClock('2026-10-31T23:00:00Z');
  const printed: string[] = [];
  const out = { line: (s = '') => void printed.push(s), error: (s: string) => void printed.push(s) };
  const actor = { kind: 'cli' as const, id: 'ana' };

  const run = (argv: string[], c: Config = config) => importGlFromCli(argv, { db: t, config: c, clock, out, actor, progress: null });
  const counts = async () => {
    const r = await sql<{ entries: bigint; imports: bigint; audit: bigint }>`
      select (select count(*) from gl_entries) as entries, (select count(*) from gl_imports) as imports,
             (select count(*) from audit_log) as audit`.execute(t.db);
    return r.rows[0];
  };
  const rowsOf = async (importId: bigint) =>
    (await sql<Row>`select * from gl_entries where import_id = ${importId} order by source_line`.execute(t.db)).rows;
  async function rejection(p: Promise<unknown>): Promise<ValidationError> {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  function writeCsv(name: string, lines: string[]): string {
    const file = path.join(dir, name);
    writeFileSync(file, `${lines.join('\r\n')}\r\n`);
    return file;
  }

  beforeAll(async () => {
    t = await createTestDb();
    config = testConfig({ yaml: YAML });
    gbpConfig = testConfig({ yaml: `org:\n  functional_currency: GBP\n${YAML}` });
    dir = mkdtempSync(path.join(tmpdir(), 'billops-gl-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.cleanup();
  });
  beforeEach(async () => {
    printed.length = 0;
    await sql`delete from gl_entries`.execute(t.db);
    await sql`delete from gl_imports`.execute(t.db);
  });

  it.each(Object.keys(EXPECTED))('%s: every posting lands in gl_entries with its line, date, account, amount and references', async (file) => {
    const cfg = file.startsWith('xero') ? gbpConfig : config;
    const result = await run([fixturePath(file)], cfg);
    expect(result.status).toBe('imported');
    if (result.status !== 'imported') return;
    const expected = EXPECTED[file] ?? [];
    const rows = await rowsOf(result.summary.importId);
    expect(rows.map((r) => [r.source_line, r.entry_date, r.account, r.amount, r.currency])).toEqual(expected);
    expect(new Set(rows.map((r) => `${r.source_system}|${r.source_file}`))).toEqual(new Set([`${SOURCE[file]}|${file}`]));

    // Everything else the parser read is kept as it was read: reference, memo, customer, ids, numbers, key.
    const parsed = await collect(fixture(file), { config: cfg.file.ledger });
    expect(rows.map((r) => [r.source_line, r.line_key, r.reference, r.memo, r.customer_name, r.external_id, r.transaction_type, r.accounting_period, r.stripe_ids, r.invoice_numbers])).toEqual(
      parsed.entries.map((e) => [e.lineNumber, e.lineKey, e.reference, e.memo, e.customerName, e.externalId, e.transactionType, e.accountingPeriod, e.stripeIds, e.invoiceNumbers]),
    );

    // The batch is recorded with what a person checks: rows, accounts, dates, totals per currency.
    const batch = await t.db.selectFrom('gl_imports').selectAll().where('id', '=', result.summary.importId).executeTakeFirstOrThrow();
    expect(batch).toMatchObject({ file_name: file, rows_read: expected.length, entries_new: expected.length, entries_existing: 0, imported_by: 'ana', imported_via: 'cli' });
    expect(batch.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(batch.accounts).toEqual([...new Set(expected.map((e) => e[2]))].sort((a, b) => (a < b ? -1 : 1)));
    expect(batch.date_from).toBe(expected.map((e) => e[1]).sort()[0]);
    expect(batch.date_to).toBe(expected.map((e) => e[1]).sort().at(-1));
    const totals: Record<string, { debit: string; credit: string }> = {};
    for (const [, , , amount, cur] of expected) {
      const x = (totals[cur] ??= { debit: '0', credit: '0' });
      if (amount > 0n) x.debit = String(BigInt(x.debit) + amount);
      else x.credit = String(BigInt(x.credit) - amount);
    }
    expect(batch.totals).toMatchObject(totals);
  });

  it('prints the summary: rows, new and existing, accounts, date range, debit and credit totals per currency', async () => {
    await run([fixturePath('netsuite-gl-saved-search.csv')]);
    expect(printed.join('\n')).toBe(
      [
        'Imported netsuite-gl-saved-search.csv (NetSuite) as import #' + printed[0]?.match(/#(\d+)/)?.[1] + '.',
        '  rows       14 postings: 14 new, 0 already there',
        '  accounts   8: 10100 Operating Checking, 11000 Accounts Receivable, 11500 Stripe Clearing, 20000 Accounts Payable, 22000 Sales Tax Payable, 40000 Subscription Revenue, 61500 Merchant Fees, 61510 Billing Software',
        '  dates      2026-09-01 to 2026-09-20',
        '  JPY: debits ¥1,320,000, credits ¥1,320,000 (3 postings)',
        '  USD: debits $15,500.00, credits $15,500.00 (11 postings)',
        `  sha256     ${printed.at(-1)?.slice(-64)}`,
      ].join('\n'),
    );
  });

  it('records every import in the audit log with who, the file, its sha256 and the counts', async () => {
    const before = await counts();
    const result = await run([fixturePath('generic-jpy-ledger.csv')]);
    if (result.status !== 'imported') throw new Error(result.status);
    const after = await counts();
    expect(after?.audit).toBe((before?.audit ?? 0n) + 1n);
    const [entry] = await listAudit(t.db, { entity: { type: 'gl_import', id: String(result.summary.importId) } });
    expect(entry).toMatchObject({
      actor: { kind: 'cli', id: 'ana' },
      action: 'gl.imported',
      source: 'cli',
      after: { file_name: 'generic-jpy-ledger.csv', sha256: result.summary.sha256, rows: 7, entries_new: 7, entries_existing: 0, source_system: 'generic', mapping: 'jp-ledger' },
      context: { file_name: 'generic-jpy-ledger.csv' },
    });
    expect(entry?.occurredAt.toISOString()).toBe('2026-10-31T23:00:00.000Z');
  });

  it('refuses a file with a bad date on one line and a non-numeric amount on another, naming both; the database is unchanged', async () => {
    const file = writeCsv('september-gl.csv', [
      '"Northwind Analytics, Inc."',
      'Transaction Detail by Account',
      '"September 1-30, 2026"',
      '',
      ',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount,Balance',
      'Stripe Clearing,,,,,,,,',
      ',09/02/2026,Payment,NWA-0042,Globex Corporation,Stripe charge ch_3PxA1b2C3d4E5f6G7h8I9j0K,Accounts Receivable (A/R),"1,200.00","1,200.00"',
      ',09/31/2026,Payment,NWA-0045,Soylent,Stripe charge ch_3PxG7h8I9j0K1l2M3n4O5p6Q,Accounts Receivable (A/R),"2,400.00","3,600.00"',
      ',09/05/2026,Payment,NWA-0044,Hooli,Stripe charge ch_3PxF6g7H8i9J0k1L2m3N4o5P,Accounts Receivable (A/R),499.00,"4,099.00"',
      ',09/06/2026,Payment,NWA-0046,Vandelay Industries,Stripe charge ch_3PxH8i9J0k1L2m3N4o5P6q7R,Accounts Receivable (A/R),1.2O0.00,"4,099.00"',
      'Total for Stripe Clearing,,,,,,,"$4,099.00",',
    ]);
    await run([fixturePath('qbo-journal.csv')]);
    const before = await counts();
    const imports = await t.db.selectFrom('gl_imports').selectAll().execute();
    const err = await rejection(run([file]));
    expect(err.problems).toEqual([
      'line 8, column "Date": "09/31/2026" is not a date (expected MM/DD/YYYY)',
      'line 10, column "Amount": "1.2O0.00" is not an amount (expected a number like 1,234.56, -1,234.56 or (1,234.56))',
    ]);
    expect(err.message).toMatch(/^september-gl\.csv was not imported: 2 problems \(QuickBooks Online, header on line 5\)\. Nothing was changed\./);
    expect(await counts()).toEqual(before);
    expect(await t.db.selectFrom('gl_imports').selectAll().execute()).toEqual(imports);
    // The good rows around the bad ones did not go in either.
    const charged = await sql<{ n: bigint }>`select count(*) as n from gl_entries where 'ch_3PxA1b2C3d4E5f6G7h8I9j0K' = any(stripe_ids)`.execute(t.db);
    expect(charged.rows[0]?.n).toBe(0n);
  });

  it('rolls back the postings of chunks already loaded when a problem comes later in the file', async () => {
    const lines = ['Date,Voucher,Account,Description,Debit,Credit'];
    const total = 5_000;
    for (let i = 0; i < total; i++) lines.push(`2026/09/${String((i % 28) + 1).padStart(2, '0')},V${i},Stripe clearing,charge ${i},${(i % 900) + 100},`);
    lines.push('2026/09/30,VX,Stripe clearing,the bad one,ten,');
    const file = writeCsv('big-jp.csv', lines);
    const before = await counts();
    // Chunks of 1,000 rows: four are in gl_entries (inside the transaction) when the bad row is read.
    const err = await rejection(importGlFromCli([file, '--mapping', 'jp-ledger'], { db: t, config, clock, out, actor, progress: null, chunkRows: 1000 }));
    expect(err.problems).toEqual([`line ${total + 2}, column "Debit": "ten" is not an amount (expected a number like 1,234.56, -1,234.56 or (1,234.56))`]);
    expect(await counts()).toEqual(before);
  });

  it('refuses a NUL character (a UTF-16 file read as UTF-8) by line instead of failing in the database', async () => {
    const before = await counts();
    const file = writeCsv('nul.csv', ['Date,Voucher,Account,Description,Debit,Credit', '2026/09/05,V1,Stripe fees,fee,1,', '2026/09/05,V2,Stripe fees,f\u0000e\u0000e,2,']);
    const err = await rejection(run([file, '--mapping', 'jp-ledger']));
    expect(err.problems).toEqual([
      'line 3: contains a NUL character, which cannot be stored (a UTF-16 file without its byte-order mark? Export it again as a UTF-8 CSV)',
    ]);
    expect(await counts()).toEqual(before);
  });

  it('rolls back when the file stops arriving halfway (a dropped download), and the next import works', async () => {
    const before = await counts();
    let sent = 0;
    const input = new Readable({
      read() {
        if (sent === 0) this.push('Date,Voucher,Account,Description,Debit,Credit\n');
        if (sent >= 40) {
          this.destroy(new Error('socket hang up'));
          return;
        }
        let chunk = '';
        for (let i = 0; i < 100; i++) chunk += `2026/09/05,V${sent}-${i},Stripe fees,fee,${sent + 1},\n`;
        sent++;
        this.push(chunk);
      },
    });
    const deps = { db: t, ledger: config.file.ledger, clock, chunkRows: 500 };
    await expect(
      importGlExport(deps, { input, fileName: 'dropped.csv', mapping: 'jp-ledger', actor, via: 'slack' }),
    ).rejects.toThrow('socket hang up');
    expect(await counts()).toEqual(before);
    const next = await run([fixturePath('generic-jpy-ledger.csv')]);
    expect(next.status).toBe('imported');
  });

  it('lists the first 50 problems and counts the rest', async () => {
    const lines = ['Date,Voucher,Account,Description,Debit,Credit'];
    for (let i = 0; i < 120; i++) lines.push(`2026/13/${String((i % 28) + 1).padStart(2, '0')},V${i},Stripe fees,fee,1,`);
    const err = await rejection(run([writeCsv('bad-dates.csv', lines), '--format', 'generic', '--mapping', 'jp-ledger']));
    expect(err.message.split('\n')[0]).toContain('120 problems');
    expect(err.problems).toHaveLength(51);
    expect(err.problems[0]).toBe('line 2, column "Date": "2026/13/01" is not a date (expected YYYY/MM/DD)');
    expect(err.problems[49]).toMatch(/^line 51, column "Date"/);
    expect(err.problems[50]).toBe('… and 70 more problems');
  });

  it('imports nothing new when the same file comes again, and says when it was imported', async () => {
    const first = await run([fixturePath('qbo-transaction-detail.csv')]);
    if (first.status !== 'imported') throw new Error(first.status);
    const before = await counts();
    printed.length = 0;
    const again = await run([fixturePath('qbo-transaction-detail.csv')]);
    expect(again).toMatchObject({ status: 'already_imported', sha256: first.summary.sha256, previous: { importId: first.summary.importId, rows: 14 } });
    expect(await counts()).toEqual(before);
    expect(printed[0]).toBe(
      `qbo-transaction-detail.csv was already imported on 2026-10-31 as import #${first.summary.importId} (qbo-transaction-detail.csv, by ana via cli): nothing new.`,
    );
  });

  it('imports a file sent twice at once exactly once', async () => {
    const before = await counts();
    const results = await Promise.all([run([fixturePath('netsuite-gl-saved-search.csv')]), run([fixturePath('netsuite-gl-saved-search.csv')])]);
    expect(results.map((r) => r.status).sort()).toEqual(['already_imported', 'imported']);
    const after = await counts();
    expect(after?.entries).toBe((before?.entries ?? 0n) + 14n);
    expect(after?.imports).toBe((before?.imports ?? 0n) + 1n);
    expect(after?.audit).toBe((before?.audit ?? 0n) + 1n);
  });

  it('recognises the same bytes under another name as already imported', async () => {
    await run([fixturePath('xero-account-transactions.csv')], gbpConfig);
    const copy = path.join(dir, 'xero-copy.csv');
    writeFileSync(copy, fixtureBytes('xero-account-transactions.csv'));
    const again = await run([copy], gbpConfig);
    expect(again.status).toBe('already_imported');
  });

  it('imports only the postings an overlapping export adds', async () => {
    const first = await run([fixturePath('qbo-transaction-detail.csv')]);
    if (first.status !== 'imported') throw new Error(first.status);
    // A later export of the same account: two postings already imported, one new.
    const file = writeCsv('stripe-clearing-sep-oct.csv', [
      ',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount,Balance',
      'Stripe Clearing,,,,,,,,',
      ',09/07/2026,Refund,RF-1001,Umbrella Corp,Refund re_3PxD4e5F6g7H8i9J0k1L2m3N for NWA-0039,Accounts Receivable (A/R),(250.00),"12,571.70"',
      ',09/08/2026,Transfer,,,Stripe payout po_1PxE5f6G7h8I9j0K1l2M3n4O,Operating Checking,"(12,571.70)",0.00',
      ',10/01/2026,Payment,NWA-0050,Globex Corporation,Stripe charge ch_3PzZ9y8X7w6V5u4T3s2R1q0P,Accounts Receivable (A/R),"1,200.00","1,200.00"',
      'Total for Stripe Clearing,,,,,,,"$1,200.00",',
    ]);
    const result = await run([file]);
    expect(result).toMatchObject({ status: 'imported', summary: { rows: 3, entriesNew: 1, entriesExisting: 2 } });
    if (result.status !== 'imported') return;
    const rows = await rowsOf(result.summary.importId);
    expect(rows.map((r) => [r.source_file, r.source_line, r.entry_date, r.amount])).toEqual([['stripe-clearing-sep-oct.csv', 5, '2026-10-01', 120000n]]);
    const total = await sql<{ n: bigint }>`select count(*) as n from gl_entries`.execute(t.db);
    expect(total.rows[0]?.n).toBe(15n);
    expect(printed.some((l) => l.includes('3 postings: 1 new, 2 already there'))).toBe(true);
  });

  it('says which file and why for whole-file problems, and changes nothing', async () => {
    const before = await counts();
    const notGl = writeCsv('customers.csv', ['Name,Email', 'Globex,ap@globex.example']);
    await expect(run([notGl])).rejects.toThrow(/Cannot tell which export this is: no header row in the first 50 lines matches/);
    await expect(run([path.join(dir, 'missing.csv')])).rejects.toThrow('Cannot read');
    await expect(run([fixturePath('qbo-journal.csv'), '--format', 'sage'])).rejects.toThrow(/--format sage is not a format billops reads/);
    await expect(run([fixturePath('generic-eu-journal.csv'), '--mapping', 'datev'])).rejects.toThrow(/There is no generic mapping "datev"/);
    const emptyAfterHeader = writeCsv('empty.csv', [',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount', 'TOTAL,,,,,,,$0.00']);
    await expect(run([emptyAfterHeader])).rejects.toThrow(/header is on line 1, but no posting follows it/);
    expect(await counts()).toEqual(before);
  });

  it('--currency sets the currency of rows without one', async () => {
    const result = await run([fixturePath('qbo-journal.csv'), '--currency', 'cad']);
    if (result.status !== 'imported') throw new Error(result.status);
    expect(result.summary.totals.map((x) => x.currency)).toEqual(['CAD']);
  });

  it('draws a progress bar on a terminal and nothing anywhere else', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    let drawn = '';
    tty.on('data', (d: Buffer) => {
      drawn += d.toString();
    });
    await importGlFromCli([fixturePath('qbo-transaction-detail.csv')], { db: t, config, clock, out, actor, progress: tty });
    expect(drawn).toContain('qbo-transaction-detail.csv [');
    expect(drawn).toContain('postings');
  });
});
