import { describe, expect, it } from 'vitest';
import { bytes, collect, config, fixture } from './helpers.js';

describe('Xero — Account Transactions', () => {
  const gbp = { config: config({ default_currency: 'GBP' }) };

  it('reads each account block: heading row as account, Debit positive, Credit negative', async () => {
    const { entries, errors, at } = await collect(fixture('xero-account-transactions.csv'), gbp);
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.lineNumber, e.date, e.account, e.amountMinor, e.currency])).toEqual([
      [8, '2026-09-02', 'Stripe Clearing (610)', 180000n, 'GBP'],
      [9, '2026-09-04', 'Stripe Clearing (610)', -5420n, 'GBP'],
      [10, '2026-09-09', 'Stripe Clearing (610)', 96000n, 'GBP'],
      [11, '2026-09-15', 'Stripe Clearing (610)', -395580n, 'GBP'],
      [17, '2026-09-01', 'Sales (200)', -150000n, 'GBP'],
      [18, '2026-09-08', 'Sales (200)', -80000n, 'GBP'],
    ]);
    expect(at(8)).toMatchObject({
      sourceSystem: 'xero',
      reference: 'NWA-0101',
      memo: 'Globex UK - Stripe charge ch_3PyA1b2C3d4E5f6G7h8I9j0K',
      transactionType: 'Receive Money',
      stripeIds: ['ch_3PyA1b2C3d4E5f6G7h8I9j0K'],
      invoiceNumbers: ['NWA-0101'],
    });
    expect(at(10)).toMatchObject({
      memo: 'Acme Widgets Ltd - Stripe charge ch_3PyC3d4E5f6G7h8I9j0K1l2M, invoice NWA-0102',
      stripeIds: ['ch_3PyC3d4E5f6G7h8I9j0K1l2M'],
      invoiceNumbers: ['NWA-0102'],
    });
    expect(at(11)).toMatchObject({ reference: 'Payout 15 Sep', stripeIds: ['po_1PyD4e5F6g7H8i9J0k1L2m3N'], invoiceNumbers: [] });
  });

  it('takes the currency from --currency when the organisation currency is not in the config', async () => {
    const { entries } = await collect(fixture('xero-account-transactions.csv'), { currency: 'gbp' });
    expect(new Set(entries.map((e) => e.currency))).toEqual(new Set(['GBP']));
  });

  it('reads "2 Sept 2026" and "2 September 2026" too, and rejects a date that is not one', async () => {
    const csv = [
      'Date,Source,Description,Reference,Debit,Credit,Running Balance',
      'Stripe Clearing (610),,,,,,',
      '2 Sept 2026,Receive Money,a,R1,1.00,,',
      '2 September 2026,Receive Money,b,R2,2.00,,',
      '31 Sep 2026,Receive Money,c,R3,3.00,,',
    ].join('\n');
    const { entries, errors } = await collect(bytes(csv), gbp);
    expect(entries.map((e) => e.date)).toEqual(['2026-09-02', '2026-09-02']);
    expect(errors.map((e) => e.message)).toEqual(['line 5, column "Date": "31 Sep 2026" is not a date (expected DD MMM YYYY)']);
  });

  it('treats a lone "Total …" cell as an account heading unless it closes the current one', async () => {
    const csv = [
      'Date,Source,Description,Reference,Debit,Credit,Running Balance',
      'Total Rewards Payable (820),,,,,,',
      '03 Sep 2026,Manual Journal,Accrual,MJ-1,,25.00,',
      'Total Total Rewards Payable (820),,,,,,',
      '04 Sep 2026,Manual Journal,Orphan line,MJ-2,,10.00,',
    ].join('\n');
    const { entries, errors } = await collect(bytes(csv), gbp);
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.account, e.amountMinor])).toEqual([
      ['Total Rewards Payable (820)', -2500n],
      ['Total Rewards Payable (820)', -1000n],
    ]);
  });

  it('reports an undated row with an amount that is not a total or balance row', async () => {
    const csv = ['Date,Source,Description,Reference,Debit,Credit,Running Balance', 'Sales (200),,,,,,', ',Receivable Invoice,Lost date,INV-9,,50.00,'].join('\n');
    const { errors } = await collect(bytes(csv), gbp);
    expect(errors).toMatchObject([{ line: 3, column: 'Date' }]);
    expect(errors[0]?.message).toContain('"50.00" in "Credit"');
  });
});
