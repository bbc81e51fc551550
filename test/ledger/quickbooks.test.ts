import { describe, expect, it } from 'vitest';
import { bytes, collect, config, fixture, fixtureBytes } from './helpers.js';

describe('QuickBooks Online — Transaction Detail by Account', () => {
  it('reads every posting with its account from the section row above it', async () => {
    const { entries, errors, at } = await collect(fixture('qbo-transaction-detail.csv'));
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.lineNumber, e.account, e.amountMinor])).toEqual([
      [7, 'Stripe Clearing', 120000n],
      [8, 'Stripe Clearing', 1200000n],
      [11, 'Stripe Clearing', -37830n],
      [12, 'Stripe Clearing', -25000n],
      [13, 'Stripe Clearing', -1257170n],
      [16, 'Accounts Receivable (A/R)', 120000n],
      [17, 'Accounts Receivable (A/R)', 1200000n],
      [18, 'Accounts Receivable (A/R)', -120000n],
      [19, 'Accounts Receivable (A/R)', -1200000n],
      [20, 'Accounts Receivable (A/R)', 25000n],
      [23, 'Stripe Fees', 37830n],
      [26, 'Subscription Revenue', -120000n],
      [27, 'Subscription Revenue', -1200000n],
      [30, 'Operating Checking', 1257170n],
    ]);
    // Debit-positive amounts over every account of the report balance to zero, like its TOTAL row.
    expect(entries.reduce((s, e) => s + e.amountMinor, 0n)).toBe(0n);
    expect(at(7)).toMatchObject({
      kind: 'entry',
      sourceSystem: 'quickbooks',
      date: '2026-09-02',
      currency: 'USD',
      reference: 'NWA-0042',
      customerName: 'Globex Corporation',
      transactionType: 'Payment',
      memo: 'Stripe charge ch_3PxA1b2C3d4E5f6G7h8I9j0K',
      externalId: null,
      accountingPeriod: null,
      stripeIds: ['ch_3PxA1b2C3d4E5f6G7h8I9j0K'],
      invoiceNumbers: ['NWA-0042'],
    });
    expect(at(12)).toMatchObject({ amountMinor: -25000n, stripeIds: ['re_3PxD4e5F6g7H8i9J0k1L2m3N'], invoiceNumbers: ['NWA-0039'] });
    expect(at(13)).toMatchObject({ reference: null, stripeIds: ['po_1PxE5f6G7h8I9j0K1l2M3n4O'], invoiceNumbers: [] });
    expect(at(11).stripeIds).toEqual(['txn_3PxC3d4E5f6G7h8I9j0K1l2M']);
  });

  it('keeps a quoted multi-line memo whole and numbers later lines as an editor does (CRLF inside the quotes)', async () => {
    const { at } = await collect(fixture('qbo-transaction-detail.csv'));
    expect(at(8).memo).toBe('Stripe charge ch_3PxB2c3D4e5F6g7H8i9J0k1L\nAnnual plan, invoice NWA-0043\npaid by card');
    expect(at(8).invoiceNumbers).toEqual(['NWA-0043']);
    // The memo spans lines 8–10, so the fees row is on line 11 of the file.
    const text = fixtureBytes('qbo-transaction-detail.csv').toString('utf8').split('\r\n');
    expect(text[11 - 1]).toContain('Stripe processing fees');
    expect(at(11).date).toBe('2026-09-04');
  });

  it('skips titles, section, total, TOTAL and the Accrual Basis footer silently', async () => {
    const { entries, errors } = await collect(fixture('qbo-transaction-detail.csv'));
    expect(errors).toEqual([]);
    const lines = new Set(entries.map((e) => e.lineNumber));
    for (const skipped of [1, 2, 3, 4, 5, 6, 14, 15, 21, 22, 24, 25, 28, 29, 31, 32, 33, 34, 35]) expect(lines.has(skipped)).toBe(false);
  });

  it('negates accounts configured as credit-normal, so their drafts are debit-positive too', async () => {
    const { at } = await collect(fixture('qbo-transaction-detail.csv'), {
      config: config({ quickbooks: { credit_normal_accounts: ['^Subscription Revenue$'] } }),
    });
    expect(at(26).amountMinor).toBe(120000n);
    expect(at(16).amountMinor).toBe(120000n);
  });

  it('nests sub-account sections and returns to the parent after "Total for <sub-account>"', async () => {
    const csv = [
      'Northwind Analytics Inc.',
      'General Ledger',
      'September 2026',
      '',
      ',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount,Balance,Posting',
      'Stripe Clearing,,,,,,,,,',
      'Stripe Clearing:Stripe Clearing USD,,,,,,,,,',
      ',09/02/2026,Payment,NWA-0042,Globex,Stripe charge,Accounts Receivable (A/R),100.00,100.00,Yes',
      'Total for Stripe Clearing:Stripe Clearing USD,,,,,,,$100.00,,',
      ',09/03/2026,Deposit,,,Stripe adjustment,Undeposited Funds,5.00,105.00,Yes',
      ',09/04/2026,Estimate,1007,Globex,Not posted,Services,"9,999.00",,No',
      'Total for Stripe Clearing with sub-accounts,,,,,,,$105.00,,',
      'TOTAL,,,,,,,$105.00,,',
    ].join('\n');
    const { entries, errors } = await collect(bytes(csv));
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.lineNumber, e.account, e.amountMinor])).toEqual([
      [8, 'Stripe Clearing:Stripe Clearing USD', 10000n],
      [10, 'Stripe Clearing', 500n],
    ]);
  });
});

describe('QuickBooks Online — Journal', () => {
  it('reads debit/credit lines, giving later lines of a transaction its date, type and number', async () => {
    const { entries, errors, at } = await collect(fixture('qbo-journal.csv'));
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.lineNumber, e.date, e.account, e.amountMinor])).toEqual([
      [6, '2026-09-01', 'Accounts Receivable (A/R)', 120000n],
      [7, '2026-09-01', 'Subscription Revenue', -120000n],
      [10, '2026-09-04', 'Stripe Fees', 37830n],
      [11, '2026-09-04', 'Stripe Clearing', -37830n],
      [14, '2026-09-30', 'Operating Checking', 1257170n],
      [15, '2026-09-30', 'Stripe Clearing', -1257170n],
    ]);
    expect(at(7)).toMatchObject({
      reference: 'NWA-0042',
      transactionType: 'Invoice',
      customerName: 'Globex Corporation',
      stripeIds: ['in_1PwZ9y8X7w6V5u4T3s2R1q0P'],
      invoiceNumbers: ['NWA-0042'],
    });
    expect(at(15)).toMatchObject({ reference: 'JE-0917', transactionType: 'Journal Entry', invoiceNumbers: [] });
  });

  it('reports a transaction subtotal that does not match its lines instead of dropping it', async () => {
    const csv = [
      ',Date,Transaction Type,Num,Name,Memo/Description,Account,Debit,Credit',
      ',09/01/2026,Invoice,NWA-0042,Globex,,Accounts Receivable (A/R),"$1,200.00",',
      ',,,,Globex,Pro plan,Subscription Revenue,,"$1,200.00"',
      ',,,,,,,"$1,300.00","$1,200.00"',
    ].join('\r\n');
    const { entries, errors } = await collect(bytes(csv));
    expect(entries).toHaveLength(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 4, column: null });
    expect(errors[0]?.message).toMatch(/^line 4: a row with amounts \(debit "\$1,300\.00", credit "\$1,200\.00"\) but no date and no account/);
  });
});

describe('QuickBooks Online — problems', () => {
  it('lists every bad row with line and column and keeps reading after each', async () => {
    const { entries, errors } = await collect(fixture('qbo-with-errors.csv'));
    expect(errors).toEqual([
      {
        kind: 'error',
        line: 14,
        column: 'Date',
        message: 'line 14, column "Date": "31/02/2026" is not a date (expected MM/DD/YYYY)',
      },
      {
        kind: 'error',
        line: 15,
        column: 'Amount',
        message: 'line 15, column "Amount": "12O.00" is not an amount (expected a number like 1,234.56, -1,234.56 or (1,234.56))',
      },
      {
        kind: 'error',
        line: 16,
        column: 'Date',
        message:
          'line 16, column "Date": empty, but the row has an amount ("1,000.00" in "Amount") and is not a section, total or balance row (expected a date like MM/DD/YYYY)',
      },
    ]);
    // Multi-line memos (LF inside quotes) on lines 7–9 and 10–11 put the later rows where an editor shows them.
    expect(entries.map((e) => [e.lineNumber, e.date, e.amountMinor])).toEqual([
      [7, '2026-09-02', 120000n],
      [10, '2026-09-03', 1200000n],
      [12, '2026-09-04', -37830n],
      [13, '2026-09-05', 49900n],
      [17, '2026-09-08', -1444070n],
    ]);
  });

  it('reports a row before any account section as having no account', async () => {
    const csv = [',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount', ',09/02/2026,Payment,1,Globex,memo,Accounts Receivable,10.00'].join('\n');
    const { entries, errors } = await collect(bytes(csv));
    expect(entries).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['line 2: no account: the row is not under an account section row and has no Account value']);
  });

  it('reports both a bad date and a bad amount on the same row', async () => {
    const csv = [',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount', 'Stripe Clearing,,,,,,,', ',2026-09-02,Payment,1,Globex,memo,A/R,ten'].join('\n');
    const { errors } = await collect(bytes(csv));
    expect(errors.map((e) => [e.line, e.column])).toEqual([
      [3, 'Date'],
      [3, 'Amount'],
    ]);
  });
});
