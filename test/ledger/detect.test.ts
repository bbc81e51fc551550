import { describe, expect, it } from 'vitest';
import { GlImportError, detectGlFormat, parseGlExport } from '../../src/ledger/index.js';
import { FIXTURE_MAPPINGS, bytes, collect, config, fixture } from './helpers.js';

const cfg = config({ generic: { mappings: FIXTURE_MAPPINGS } });

async function rejection(p: Promise<unknown>): Promise<GlImportError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GlImportError);
  return err as GlImportError;
}

describe('format detection', () => {
  it.each([
    ['qbo-transaction-detail.csv', 'quickbooks', null, 5, ','],
    ['qbo-journal.csv', 'quickbooks', null, 5, ','],
    ['qbo-with-errors.csv', 'quickbooks', null, 5, ','],
    ['xero-account-transactions.csv', 'xero', null, 5, ','],
    ['netsuite-gl-saved-search.csv', 'netsuite', null, 1, ','],
    ['generic-eu-journal.csv', 'generic', 'eu-journal', 3, ';'],
    ['generic-jpy-ledger.csv', 'generic', 'jp-ledger', 1, ','],
  ])('%s is %s', async (file, format, mapping, headerLine, delimiter) => {
    const detected = await detectGlFormat(fixture(file), { config: cfg });
    expect(detected).toMatchObject({ format, mapping, headerLine, delimiter });
  });

  it('refuses a header that fits two formats and says how to choose', async () => {
    const csv = [
      'Date,Transaction Type,Source,Num,Description,Reference,Account,Debit,Credit,Running Balance',
      '09/01/2026,Invoice,Sales,1,x,y,Accounts Receivable,1.00,,1.00',
    ].join('\n');
    const err = await rejection(detectGlFormat(bytes(csv)));
    expect(err.message).toBe(
      'Cannot tell which export this is: the header on line 1 (Date, Transaction Type, Source, Num, Description, Reference, Account, Debit, Credit, Running Balance) ' +
        'fits QuickBooks Online and Xero. Say which it is with --format quickbooks or --format xero.',
    );
    // --format settles it.
    const { entries } = await collect(bytes(csv), { format: 'quickbooks' });
    expect(entries).toMatchObject([{ sourceSystem: 'quickbooks', date: '2026-09-01', account: 'Accounts Receivable', amountMinor: 100n }]);
  });

  it('refuses a file that fits a built-in format and a generic mapping', async () => {
    const c = config({ generic: { mappings: { journal: { date: 'Date', debit: 'Debit', credit: 'Credit', account: 'Account' } } } });
    const err = await rejection(detectGlFormat(fixture('qbo-journal.csv'), { config: c }));
    expect(err.message).toContain('fits QuickBooks Online and generic mapping "journal"');
    expect(err.message).toContain('--format quickbooks or --format generic --mapping journal');
  });

  it('refuses an unknown header, quoting the first line and listing what it looked for', async () => {
    const csv = ['id,when,how much', '1,2026-09-01,10.00'].join('\n');
    const err = await rejection(detectGlFormat(bytes(csv)));
    expect(err.message).toMatch(/^Cannot tell which export this is: no header row in the first 50 lines matches QuickBooks Online \(Date, Transaction Type/);
    expect(err.message).toContain('Xero (Date, Source, Description, Reference, Debit, Credit, Running Balance)');
    expect(err.message).toContain('Its first line reads "id,when,how much".');
  });

  it('refuses an empty file', async () => {
    const err = await rejection(detectGlFormat(bytes('')));
    expect(err.message).toContain('The file is empty.');
  });

  it('with --format, says the file does not look like that export', async () => {
    const err = await rejection(detectGlFormat(fixture('qbo-journal.csv'), { format: 'xero' }));
    expect(err.message).toMatch(/^This does not look like a Xero export: no header row in the first 50 lines has the expected columns \(Xero: Date, Source/);
  });

  it('with a mapping, names the mapped columns the closest header lacks', async () => {
    const err = await rejection(detectGlFormat(fixture('generic-jpy-ledger.csv'), { config: cfg, mapping: 'eu-journal' }));
    expect(err.message).toContain('This does not look like a generic mapping "eu-journal" export');
    const other = config({ generic: { mappings: { jp: { ...FIXTURE_MAPPINGS['jp-ledger'], memo: 'Narration' } } } });
    const err2 = await rejection(detectGlFormat(fixture('generic-jpy-ledger.csv'), { config: other, format: 'generic' }));
    expect(err2.message).toContain('The closest is line 1, which lacks "Narration".');
  });

  it('refuses an unknown mapping name and generic without mappings, before reading', async () => {
    const err = await rejection(detectGlFormat(fixture('generic-jpy-ledger.csv'), { config: cfg, mapping: 'nope' }));
    expect(err.message).toBe('There is no generic mapping "nope" in billops.yml (configured: eu-journal, jp-ledger).');
    const err2 = await rejection(detectGlFormat(fixture('generic-jpy-ledger.csv'), { format: 'generic' }));
    expect(err2.message).toContain('has none under ledger.generic.mappings');
  });

  it('throws before yielding any row, so nothing is half-imported', async () => {
    const rows: unknown[] = [];
    const run = async () => {
      for await (const r of parseGlExport(bytes('a,b\n1,2\n'))) rows.push(r);
    };
    await rejection(run());
    expect(rows).toEqual([]);
  });

  it('looks for the header only in the first 50 lines', async () => {
    const titles = Array.from({ length: 50 }, (_, i) => `Title line ${i + 1}`);
    const csv = [...titles, ',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount', 'Stripe Clearing,,,,,,,', ',09/01/2026,Payment,1,a,b,c,1.00'].join('\n');
    await rejection(detectGlFormat(bytes(csv)));
    const ok = await detectGlFormat(bytes(csv.split('\n').slice(1).join('\n')));
    expect(ok).toMatchObject({ format: 'quickbooks', headerLine: 50 });
  });
});
