import { describe, expect, it } from 'vitest';
import { bytes, collect, config, fixture } from './helpers.js';

const HEADER = 'Internal ID,Date,Period,Type,Document Number,Name,Account,Memo,Amount (Debit),Amount (Credit),Currency,Main Line';

describe('NetSuite — transaction saved search', () => {
  it('reads postings with period, internal id and per-row currency (JPY has no minor unit)', async () => {
    const { entries, errors, at } = await collect(fixture('netsuite-gl-saved-search.csv'));
    expect(errors).toEqual([]);
    expect(at(2)).toMatchObject({
      sourceSystem: 'netsuite',
      date: '2026-09-01',
      account: '11000 Accounts Receivable',
      amountMinor: 120000n,
      currency: 'USD',
      reference: 'INV10042',
      externalId: '40121',
      transactionType: 'Invoice',
      accountingPeriod: 'Sep 2026',
      customerName: 'Globex Corporation',
    });
    expect(at(3)).toMatchObject({ amountMinor: -120000n, stripeIds: ['in_1PwZ9y8X7w6V5u4T3s2R1q0P'] });
    expect(at(11)).toMatchObject({ amountMinor: 1320000n, currency: 'JPY' });
    expect(at(12)).toMatchObject({ amountMinor: -1200000n, currency: 'JPY', stripeIds: ['in_1PxJ0k1L2m3N4o5P6q7R8s9T'] });
    // Every transaction balances once the restating main line is gone.
    const byTxn = new Map<string, bigint>();
    for (const e of entries) byTxn.set(e.externalId ?? '', (byTxn.get(e.externalId ?? '') ?? 0n) + e.amountMinor);
    expect([...byTxn.values()]).toEqual([0n, 0n, 0n, 0n, 0n, 0n]);
  });

  it('keeps a main line that posts (A/R, bank, A/P side) and drops one that copies a line of a balanced journal', async () => {
    const { entries } = await collect(fixture('netsuite-gl-saved-search.csv'));
    expect(entries.map((e) => e.lineNumber)).toEqual([2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(entries.filter((e) => e.externalId === '40210').map((e) => [e.account, e.amountMinor])).toEqual([
      ['61500 Merchant Fees', 37830n],
      ['11500 Stripe Clearing', -37830n],
    ]);
  });

  it('drops a main line that restates the total of its lines', async () => {
    const csv = [
      HEADER,
      '50001,9/10/2026,Sep 2026,Invoice,INV10050,Hooli,40000 Subscription Revenue,Summary,"1,000.00",,USD,*',
      '50001,9/10/2026,Sep 2026,Invoice,INV10050,Hooli,40000 Subscription Revenue,Seats,600.00,,USD,',
      '50001,9/10/2026,Sep 2026,Invoice,INV10050,Hooli,40000 Subscription Revenue,Usage,400.00,,USD,',
      '50002,9/11/2026,Sep 2026,Journal,JE1010,,10100 Operating Checking,Only a main line,25.00,,USD,*',
    ].join('\r\n');
    const { entries, errors } = await collect(bytes(csv));
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.lineNumber, e.memo, e.amountMinor])).toEqual([
      [3, 'Seats', 60000n],
      [4, 'Usage', 40000n],
      [5, 'Only a main line', 2500n],
    ]);
  });

  it('reads currency names NetSuite prints and reports ones it cannot', async () => {
    const csv = [
      HEADER,
      '50010,9/12/2026,Sep 2026,Journal,JE1011,,10100 Operating Checking,a,10.00,,US Dollar,',
      '50010,9/12/2026,Sep 2026,Journal,JE1011,,11500 Stripe Clearing,b,,10.00,Peso Argentino,',
    ].join('\n');
    const { entries, errors } = await collect(bytes(csv), { config: config({ currency_aliases: {} }) });
    expect(entries.map((e) => e.currency)).toEqual(['USD']);
    expect(errors.map((e) => e.message)).toEqual([
      'line 3, column "Currency": "Peso Argentino" is not a currency (expected a three-letter code such as USD, or a name listed in ledger.currency_aliases)',
    ]);
    const aliased = await collect(bytes(csv), { config: config({ currency_aliases: { 'Peso Argentino': 'ARS' } }) });
    expect(aliased.entries.map((e) => e.currency)).toEqual(['USD', 'ARS']);
  });

  it('reads a General Ledger report with title, account heading, Balance Forward and Total rows', async () => {
    const csv = [
      'Northwind Analytics Inc.',
      'General Ledger',
      'September 2026',
      '',
      'Date,Type,Document Number,Name,Account,Memo,Debit,Credit,Balance,Period',
      '11500 Stripe Clearing,,,,,,,,,',
      'Balance Forward,,,,,,,,"1,000.00",',
      '9/2/2026,Payment,PYMT2231,Globex,,Stripe charge ch_3PxA1b2C3d4E5f6G7h8I9j0K,"1,200.00",,"2,200.00",Sep 2026',
      'Total - 11500 Stripe Clearing,,,,,,"1,200.00",0.00,,',
    ].join('\n');
    const { entries, errors } = await collect(bytes(csv));
    expect(errors).toEqual([]);
    expect(entries).toMatchObject([{ lineNumber: 8, account: '11500 Stripe Clearing', amountMinor: 120000n, accountingPeriod: 'Sep 2026' }]);
  });
});
