import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { openGlExport, parseGlExport } from '../../src/ledger/index.js';
import { FIXTURE_MAPPINGS, bytes, collect, config, fixture, fixtureBytes } from './helpers.js';

const cfg = config({ generic: { mappings: FIXTURE_MAPPINGS } });

describe('streaming', () => {
  it.each(['qbo-transaction-detail.csv', 'generic-eu-journal.csv', 'netsuite-gl-saved-search.csv'])(
    '%s: identical result whatever the chunking (BOM, CRLF and UTF-8 characters split across chunks)',
    async (file) => {
      const whole = await collect(fixture(file), { config: cfg });
      for (const size of [1, 3, 7, 64]) {
        const pieces = await collect(bytes(fixtureBytes(file), size), { config: cfg });
        expect(pieces.entries).toEqual(whole.entries);
        expect(pieces.errors).toEqual(whole.errors);
      }
    },
  );

  it('reads a UTF-8 BOM and non-ASCII headers', async () => {
    expect(fixtureBytes('generic-eu-journal.csv').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const { entries } = await collect(fixture('generic-eu-journal.csv'), { config: cfg });
    expect(entries[1]?.account).toBe('8400 Erlöse');
  });

  it('stops with an error at an unclosed quote, after everything before it', async () => {
    const csv = [
      ',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount',
      'Stripe Clearing,,,,,,,',
      ',09/01/2026,Payment,1,Globex,fine,A/R,1.00',
      ',09/02/2026,Payment,2,Globex,"never closed,A/R,2.00',
      ',09/03/2026,Payment,3,Globex,lost,A/R,3.00',
    ].join('\n');
    const { entries, errors } = await collect(bytes(csv));
    expect(entries.map((e) => e.lineNumber)).toEqual([3]);
    expect(errors).toEqual([
      {
        kind: 'error',
        line: 4,
        column: null,
        message: 'line 4: the file is not valid CSV from here on: a quoted field is opened here and never closed',
      },
    ]);
  });

  it('hands out the detected format before the first row', async () => {
    const { detected, rows } = await openGlExport(fixture('qbo-journal.csv'));
    expect(detected).toEqual({
      format: 'quickbooks',
      mapping: null,
      headerLine: 5,
      columns: ['', 'Date', 'Transaction Type', 'Num', 'Name', 'Memo/Description', 'Account', 'Debit', 'Credit'],
      delimiter: ',',
    });
    const first = await rows.next();
    expect(first.value).toMatchObject({ kind: 'entry', lineNumber: 6 });
    await rows.return(undefined);
  });

  it('releases the input when the caller stops early', async () => {
    const input = fixture('qbo-transaction-detail.csv');
    for await (const row of parseGlExport(input)) {
      expect(row.kind).toBe('entry');
      break;
    }
    await new Promise((r) => setImmediate(r));
    expect(input.destroyed).toBe(true);
  });

  it('passes an input stream failure through unchanged', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from(',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount\nStripe Clearing,,,,,,,\n'));
        this.destroy(new Error('socket hang up'));
      },
    });
    await expect(collect(failing)).rejects.toThrow('socket hang up');
  });

  it('keeps memory flat on a large generic file (rows are streamed, not collected)', async () => {
    const c = config({ generic: { mappings: { big: { date: 'Date', amount: 'Amount', account: 'Account', memo: 'Memo' } } } });
    const rows = 200_000;
    function* lines() {
      yield 'Date,Account,Amount,Memo\n';
      for (let i = 0; i < rows; i++) yield `2026-09-${String((i % 28) + 1).padStart(2, '0')},Stripe Clearing,${i % 1000}.${String(i % 100).padStart(2, '0')},Charge ch_3PxA1b2C3d4E5f6G${String(i).padStart(8, '0')}\n`;
    }
    const input = Readable.from(lines(), { objectMode: false });
    let count = 0;
    let sum = 0n;
    let peak = 0;
    for await (const row of parseGlExport(input, { config: c })) {
      if (row.kind !== 'entry') throw new Error(row.message);
      count++;
      sum += row.amountMinor;
      if (count % 20_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    expect(count).toBe(rows);
    let expected = 0n;
    for (let i = 0; i < rows; i++) expected += BigInt((i % 1000) * 100 + (i % 100));
    expect(sum).toBe(expected);
    // 200k drafts held at once would be several hundred MB; streaming stays far below.
    expect(peak).toBeLessThan(200 * 1024 * 1024);
  });
});
