import { describe, expect, it } from 'vitest';
import { FIXTURE_MAPPINGS, bytes, collect, config, fixture } from './helpers.js';

const cfg = config({ generic: { mappings: FIXTURE_MAPPINGS } });

describe('generic CSV with a named mapping', () => {
  it('reads a ";"-separated export with decimal commas and DD.MM.YYYY dates', async () => {
    const { entries, errors, at } = await collect(fixture('generic-eu-journal.csv'), { config: cfg, mapping: 'eu-journal' });
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.lineNumber, e.date, e.account, e.amountMinor, e.currency])).toEqual([
      [4, '2026-09-01', '1400 Forderungen', 119000n, 'EUR'],
      [5, '2026-09-01', '8400 Erlöse', -100000n, 'EUR'],
      [6, '2026-09-01', '1776 Umsatzsteuer 19 %', -19000n, 'EUR'],
      [7, '2026-09-03', '1361 Stripe Verrechnung', 119000n, 'EUR'],
      [8, '2026-09-03', '1400 Forderungen', -119000n, 'EUR'],
      [9, '2026-09-04', '4970 Nebenkosten des Geldverkehrs', 1756n, 'EUR'],
      [10, '2026-09-04', '1361 Stripe Verrechnung', -1756n, 'EUR'],
    ]);
    expect(at(4)).toMatchObject({
      sourceSystem: 'generic',
      reference: 'NWA-0201',
      customerName: 'Globex GmbH',
      memo: 'Stripe Rechnung in_1PzA1b2C3d4E5f6G7h8I9j0K',
      stripeIds: ['in_1PzA1b2C3d4E5f6G7h8I9j0K'],
      invoiceNumbers: ['NWA-0201'],
    });
    expect(at(9)).toMatchObject({ reference: null, stripeIds: ['txn_3PzC3d4E5f6G7h8I9j0K1l2M'] });
  });

  it('reads JPY amounts as whole yen from debit and credit columns', async () => {
    const { entries, errors } = await collect(fixture('generic-jpy-ledger.csv'), { config: cfg, mapping: 'jp-ledger' });
    expect(errors).toEqual([]);
    expect(entries.map((e) => [e.lineNumber, e.date, e.account, e.amountMinor, e.currency])).toEqual([
      [2, '2026-09-01', 'Accounts receivable', 132000n, 'JPY'],
      [3, '2026-09-01', 'Subscription revenue', -120000n, 'JPY'],
      [4, '2026-09-01', 'Consumption tax payable', -12000n, 'JPY'],
      [5, '2026-09-05', 'Stripe clearing', 132000n, 'JPY'],
      [6, '2026-09-05', 'Accounts receivable', -132000n, 'JPY'],
      [7, '2026-09-05', 'Stripe fees', 4752n, 'JPY'],
      [8, '2026-09-05', 'Stripe clearing', -4752n, 'JPY'],
    ]);
    expect(entries[0]).toMatchObject({ stripeIds: ['in_1PzD4e5F6g7H8i9J0k1L2m3N'], invoiceNumbers: ['NWJ-0042'] });
  });

  it('refuses yen with decimals, naming the cell', async () => {
    const csv = ['Date,Voucher,Account,Description,Debit,Credit', '2026/09/01,V1,Stripe fees,fee,"1,200.5",'].join('\n');
    const { entries, errors } = await collect(bytes(csv), { config: cfg, mapping: 'jp-ledger' });
    expect(entries).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['line 2, column "Debit": "1200.5" has decimals, but JPY has no minor unit']);
  });

  it('uses the default currency, flips signs when asked, and falls back to a fixed account', async () => {
    const c = config({
      default_currency: 'CAD',
      generic: {
        mappings: { bank: { date: 'Posted', date_format: 'MM/DD/YYYY', amount: 'Amount', invert_sign: true, default_account: 'Stripe Clearing CAD', memo: 'Details' } },
      },
    });
    const csv = ['Posted,Details,Amount', '09/03/2026,Payout po_1PxE5f6G7h8I9j0K1l2M3n4O,"2,500.00"', '09/04/2026,Fee,(1.50)'].join('\n');
    const { entries } = await collect(bytes(csv), { config: c });
    expect(entries.map((e) => [e.account, e.amountMinor, e.currency])).toEqual([
      ['Stripe Clearing CAD', -250000n, 'CAD'],
      ['Stripe Clearing CAD', 150n, 'CAD'],
    ]);
  });
});
