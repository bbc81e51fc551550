import { describe, expect, it } from 'vitest';
import { FIXTURE_MAPPINGS, bytes, collect, config, fixture, fixtureBytes } from './helpers.js';

const cfg = config({ generic: { mappings: FIXTURE_MAPPINGS }, default_currency: 'GBP' });

describe('line keys', () => {
  it.each([
    'qbo-transaction-detail.csv',
    'qbo-journal.csv',
    'xero-account-transactions.csv',
    'netsuite-gl-saved-search.csv',
    'generic-eu-journal.csv',
    'generic-jpy-ledger.csv',
  ])('%s: same keys on a second parse, all distinct, sha256 hex', async (file) => {
    const first = await collect(fixture(file), { config: cfg });
    const second = await collect(fixture(file), { config: cfg });
    const keys = first.entries.map((e) => e.lineKey);
    expect(keys.length).toBeGreaterThan(0);
    expect(second.entries.map((e) => e.lineKey)).toEqual(keys);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{64}$/);
  });

  it('an overlapping export (other period, other running balances, other lines) gives the shared postings the same keys', async () => {
    const full = await collect(fixture('xero-account-transactions.csv'), { config: cfg });
    const overlap = [
      'Account Transactions',
      'Northwind Analytics Ltd',
      'For the period 2 September 2026 to 10 September 2026',
      'Accrual basis',
      '',
      'Date,Source,Description,Reference,Debit,Credit,Running Balance,Gross,VAT',
      'Stripe Clearing (610),,,,,,,,',
      'Opening Balance,,,,,,"1,250.00",,',
      '02 Sep 2026,Receive Money,Globex UK - Stripe charge ch_3PyA1b2C3d4E5f6G7h8I9j0K,NWA-0101,"1,800.00",,"3,050.00","1,800.00",0.00',
      '04 Sep 2026,Spend Money,Stripe - processing fees txn_3PyB2c3D4e5F6g7H8i9J0k1L,Stripe fees Sep,,54.20,"2,995.80",54.20,0.00',
      '09 Sep 2026,Receive Money,"Acme Widgets Ltd - Stripe charge ch_3PyC3d4E5f6G7h8I9j0K1l2M, invoice NWA-0102",NWA-0102,960.00,,"3,955.80",960.00,0.00',
      'Total Stripe Clearing (610),,,,"2,760.00",54.20,,,',
      'Closing Balance,,,,,,"3,955.80",,',
    ].join('\r\n');
    const part = await collect(bytes(overlap), { config: cfg });
    expect(part.entries.map((e) => e.lineNumber)).toEqual([9, 10, 11]);
    expect(part.entries.map((e) => e.lineKey)).toEqual([8, 9, 10].map((l) => full.at(l).lineKey));
  });

  it('a row posted twice gets two keys, the first the same as when it was posted once', async () => {
    const original = fixtureBytes('generic-jpy-ledger.csv').toString('utf8').split('\r\n');
    const fee = original[6] as string;
    expect(fee).toContain('Stripe fee');
    const doubled = [...original.slice(0, 7), fee, ...original.slice(7)].join('\r\n');
    const once = await collect(bytes(original.join('\r\n')), { config: cfg });
    const twice = await collect(bytes(doubled), { config: cfg });
    const again = await collect(bytes(doubled), { config: cfg });
    const [a, b] = twice.entries.filter((e) => e.memo?.startsWith('Stripe fee') && e.amountMinor === 4752n);
    expect(a?.lineNumber).toBe(7);
    expect(b?.lineNumber).toBe(8);
    expect(a?.lineKey).not.toBe(b?.lineKey);
    expect(a?.lineKey).toBe(once.at(7).lineKey);
    expect(again.entries.map((e) => e.lineKey)).toEqual(twice.entries.map((e) => e.lineKey));
  });

  it('does not depend on line endings or cell formatting, only on the posting', async () => {
    const lf = fixtureBytes('qbo-transaction-detail.csv').toString('utf8').replace(/\r\n/g, '\n');
    const reformatted = lf.replace('"1,200.00","1,200.00"', '1200.00,"9,999.00"');
    const a = await collect(fixture('qbo-transaction-detail.csv'));
    const b = await collect(bytes(reformatted));
    expect(b.entries.map((e) => [e.lineNumber, e.lineKey])).toEqual(a.entries.map((e) => [e.lineNumber, e.lineKey]));
  });

  it('differs between source systems and between accounts for the same amounts', async () => {
    const detail = await collect(fixture('qbo-transaction-detail.csv'));
    // The fee posts to Stripe Clearing (line 11) and to Stripe Fees (line 23): same date, memo and size.
    expect(detail.at(11).lineKey).not.toBe(detail.at(23).lineKey);
    const journal = await collect(fixture('qbo-journal.csv'));
    // The same posting exported as Journal and as Transaction Detail is the same posting.
    expect(journal.at(11).lineKey).toBe(detail.at(11).lineKey);
  });
});
