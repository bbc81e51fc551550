/**
 * `billops import stripe-report`: Stripe's "Balance change from activity — itemized" CSV, as the
 * Dashboard exports it, into minor units — or, if anything is wrong, nothing at all.
 */
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { ReportImportError, importStripeReport } from '../../src/stripe/index.js';
import { ManualClock } from '../../src/util/index.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { countRows } from './helpers.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/stripe/${name}`, import.meta.url));
const actor = { kind: 'cli' as const, id: 'tester' };
const clock = new ManualClock('2026-11-02T08:00:00Z');

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.cleanup();
});
beforeEach(async () => {
  await t.db.deleteFrom('stripe_report_rows').execute();
  await t.db.deleteFrom('stripe_report_imports').execute();
});

function text(csv: string): AsyncIterable<Buffer> {
  return Readable.from([Buffer.from(csv)]);
}

async function refusal(p: Promise<unknown>): Promise<ReportImportError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReportImportError);
  return err as ReportImportError;
}

describe('import stripe-report', () => {
  it('imports USD, EUR, JPY (and BHD) rows in any column order into the right minor units', async () => {
    const res = await importStripeReport({ db: t.db, source: createReadStream(fixture('balance-change-itemized.csv')), fileName: 'balance-change-itemized.csv', actor, clock });
    expect(res.rows).toBe(8);
    expect(res.totals).toEqual([
      { currency: 'BHD', rows: 1, gross: 1250n, fee: 36n, net: 1214n },
      { currency: 'EUR', rows: 1, gross: 17900n, fee: 549n, net: 17351n },
      { currency: 'JPY', rows: 2, gross: 30000n, fee: 1200n, net: 28800n },
      { currency: 'USD', rows: 4, gross: 13432n, fee: 2460n, net: 10972n },
    ]);

    const rows = await t.db.selectFrom('stripe_report_rows').selectAll().orderBy('line').execute();
    expect(rows.map((r) => [r.line, r.balance_transaction_id, r.currency, r.gross, r.fee, r.net])).toEqual([
      [2, 'txn_1QrUsdCharge0001', 'USD', 4900n, 172n, 4728n],
      [3, 'txn_1QrEurSettled001', 'USD', 19432n, 788n, 18644n],
      [4, 'txn_1QrEurBalance001', 'EUR', 17900n, 549n, 17351n],
      [6, 'txn_1QrJpyCharge0001', 'JPY', 25000n, 1000n, 24000n],
      [7, 'txn_1QrJpyCharge0002', 'JPY', 5000n, 200n, 4800n],
      [8, 'txn_1QrUsdRefund0001', 'USD', -1000n, 0n, -1000n],
      [9, 'txn_1QrUsdDispute001', 'USD', -9900n, 1500n, -11400n],
      [10, 'txn_1QrBhdCharge0001', 'BHD', 1250n, 36n, 1214n],
    ]);
    const eurSettled = rows[1];
    expect(eurSettled).toMatchObject({
      customer_facing_amount: 17900n,
      customer_facing_currency: 'EUR',
      automatic_payout_id: 'po_1QrPayout000001',
      invoice_id: 'in_1QrInvoiceEur01',
      invoice_number: 'DEMO-0002',
      charge_id: 'ch_1QrEurCharge0001',
      reporting_category: 'charge',
    });
    expect(eurSettled?.created.toISOString()).toBe('2026-10-03T11:00:00.000Z');
    expect(rows[0]).toMatchObject({ customer_name: 'Acme, Inc.', columns: expect.objectContaining({ card_brand: 'visa', 'payment_metadata[order_id]': 'ord-77' }) });
    expect(rows[2]?.description).toBe('Invoice DEMO-0003\nsecond line of a memo');

    const [entry] = await listAudit(t.db, { action: 'stripe.report.imported' });
    expect(entry).toMatchObject({ actor, entity: { type: 'stripe_report_import', id: String(res.importId) }, after: { file: 'balance-change-itemized.csv', rows: 8 } });

    // The same report again (or a later one covering the same days) replaces, never duplicates.
    const again = await importStripeReport({ db: t.db, source: createReadStream(fixture('balance-change-itemized.csv')), fileName: 'again.csv', actor, clock });
    expect(again.replaced).toBe(8);
    expect(await countRows(t.db, 'stripe_report_rows')).toBe(8);
  });

  it('refuses a file with a bad amount on line 5, naming line and column, and imports nothing', async () => {
    const auditBefore = (await listAudit(t.db)).length;
    const err = await refusal(
      importStripeReport({ db: t.db, source: createReadStream(fixture('balance-change-itemized-bad-amount.csv')), fileName: 'bad.csv', actor, clock }),
    );
    expect(err.total).toBe(1);
    expect(err.problems).toEqual(['line 5, column gross: expected an amount in USD major units with at most 2 decimals, such as 12.50, found "1,234.5x"']);
    expect(err.message).toMatch(/^bad\.csv was not imported \(nothing was changed\): 1 problem:/);
    expect(await countRows(t.db, 'stripe_report_rows')).toBe(0);
    expect(await countRows(t.db, 'stripe_report_imports')).toBe(0);
    expect(await listAudit(t.db)).toHaveLength(auditBefore);
  });

  it('reports every problem with line, column and what was expected — the first 50, and the total', async () => {
    const header = 'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n';
    const good = 'txn_ok1,2026-10-01 00:00:00,usd,1.00,0.33,0.67,charge\n';
    const many = Array.from({ length: 60 }, (_, i) => `txn_bad${i},2026-10-01 00:00:00,jpy,10.5,0,10.5,charge\n`).join('');
    const err = await refusal(importStripeReport({ db: t.db, source: text(header + good + many), fileName: 'many.csv', actor, clock }));
    expect(err.total).toBe(120); // gross and net on each of 60 rows
    expect(err.problems).toHaveLength(50);
    expect(err.problems[0]).toBe('line 3, column gross: expected an amount in JPY major units with no decimals, such as 1500, found "10.5"');
    expect(err.message).toContain('120 problems, the first 50 listed');

    const mixed = [
      'created_utc,balance_transaction_id,currency,gross,fee,net,reporting_category,customer_facing_amount',
      'yesterday,txn_a,usd,1.00,0.30,0.70,charge,',
      '2026-10-01 00:00:00,not-an-id,usd,1.00,0.30,0.70,charge,',
      '2026-10-01 00:00:00,txn_b,dollars,1.00,0.30,0.70,charge,',
      '2026-10-01 00:00:00,txn_c,usd,1.00,0.30,0.80,,',
      '2026-10-01 00:00:00,txn_c,usd,1.00,0.30,0.70,charge,1.00',
    ].join('\n');
    const err2 = await refusal(importStripeReport({ db: t.db, source: text(mixed), fileName: 'mixed.csv', actor, clock }));
    expect(err2.problems).toEqual([
      'line 2, column created_utc: expected a UTC date and time such as 2026-10-03 14:22:10, found "yesterday"',
      'line 3, column balance_transaction_id: expected a balance transaction id such as txn_1Q2w3E4r5T6y7U8i, found "not-an-id"',
      'line 4, column currency: expected a three-letter currency code such as usd, found "dollars"',
      'line 5, column net: expected gross − fee = 70 minor units of USD, found 80',
      'line 5, column reporting_category: expected a reporting category such as charge, refund, fee, found nothing',
      'line 6, column balance_transaction_id: txn_c is already on line 5',
      'line 6, column customer_facing_currency: expected the currency of customer_facing_amount, found nothing',
    ]);
  });

  it('refuses a file that is not the itemized report, and an empty file', async () => {
    const err = await refusal(importStripeReport({ db: t.db, source: text('Date,Amount,Memo\n2026-10-01,12.00,x\n'), fileName: 'gl.csv', actor, clock }));
    expect(err.problems[0]).toMatch(/^line 1: the header has no balance_transaction_id, created_utc, currency, gross, fee, net, reporting_category columns/);
    const empty = await refusal(importStripeReport({ db: t.db, source: text('\n\n'), fileName: 'empty.csv', actor, clock }));
    expect(empty.problems).toEqual(['line 1: the file is empty (expected a header row and one row per balance transaction)']);
    expect(await countRows(t.db, 'stripe_report_imports')).toBe(0);
  });

  it('streams: a large report is read in batches within one transaction', async () => {
    const header = 'balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category\n';
    async function* big(): AsyncGenerator<Buffer> {
      yield Buffer.from(header);
      for (let chunk = 0; chunk < 24; chunk++) {
        let s = '';
        for (let i = 0; i < 100; i++) s += `txn_big${chunk}x${i},2026-10-01 00:00:00,usd,10.00,0.59,9.41,charge\n`;
        yield Buffer.from(s);
      }
    }
    const res = await importStripeReport({ db: t.db, source: big(), fileName: 'big.csv', actor, clock });
    expect(res.rows).toBe(2400);
    expect(res.totals).toEqual([{ currency: 'USD', rows: 2400, gross: 2_400_000n, fee: 141_600n, net: 2_258_400n }]);
    expect(await countRows(t.db, 'stripe_report_rows')).toBe(2400);
  });
});
