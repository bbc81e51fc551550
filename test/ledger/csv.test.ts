import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvSyntaxError, readCsvRecords } from '../../src/ledger/csv.js';

/** The options the GL reader used csv-parse with, before the hand-written tokenizer replaced it. */
function withCsvParse(text: string, delimiter: string): string[][] | 'error' {
  try {
    return parse(text, { bom: true, delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: false }) as string[][];
  } catch {
    return 'error';
  }
}

async function withTokenizer(text: string, delimiter: string, chunk: number): Promise<{ records: string[][] | 'error'; lines: number[] }> {
  const bytes = Buffer.from(text, 'utf8');
  async function* pieces() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const records: string[][] = [];
  const lines: number[] = [];
  try {
    for await (const batch of readCsvRecords(pieces(), delimiter)) {
      for (const r of batch) {
        records.push(r.fields);
        lines.push(r.line);
      }
    }
  } catch (err) {
    if (err instanceof CsvSyntaxError) return { records: 'error', lines };
    throw err;
  }
  return { records, lines };
}

describe('CSV tokenizer', () => {
  it('reads every text exactly as csv-parse does with the options it replaced', async () => {
    const cell = fc.stringMatching(/^[a-zé" ,;\r\n]{0,6}$/);
    const quoted = cell.map((c) => `"${c.replace(/"/g, '""')}"`);
    const text = fc
      .array(fc.oneof(cell, quoted, fc.constantFrom(',', ';', '\n', '\r\n', '\r', '"', '\uFEFF')), { maxLength: 25 })
      .map((parts) => parts.join(''));
    await fc.assert(
      fc.asyncProperty(text, fc.constantFrom(',', ';'), fc.integer({ min: 1, max: 9 }), async (csv, delimiter, chunk) => {
        const ours = await withTokenizer(csv, delimiter, chunk);
        expect(ours.records).toEqual(withCsvParse(csv, delimiter));
      }),
      { numRuns: 3000 },
    );
  });

  it('numbers each record by the physical line it starts on, counting line breaks inside quotes', async () => {
    const csv = 'a,b\r\n"multi\r\nline\r\nmemo",c\r\n\r\nd,"x\ny"\r\ne,f\r\n';
    const { records, lines } = await withTokenizer(csv, ',', 3);
    expect(records).toEqual([['a', 'b'], ['multi\r\nline\r\nmemo', 'c'], [''], ['d', 'x\ny'], ['e', 'f']]);
    expect(lines).toEqual([1, 2, 5, 6, 8]);
  });

  it('reads UTF-16 exports (Excel "Unicode text") by their byte-order mark', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Datum;Konto\r\n01.09.2026;Erlöse\r\n', 'utf16le')]);
    const records: string[][] = [];
    for await (const batch of readCsvRecords([bytes.subarray(0, 1), bytes.subarray(1, 7), bytes.subarray(7)], ';')) for (const r of batch) records.push(r.fields);
    expect(records).toEqual([
      ['Datum', 'Konto'],
      ['01.09.2026', 'Erlöse'],
    ]);
  });
});
