import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  type GlEntryDraft,
  type GlParseError,
  type LedgerConfigInput,
  type ParseGlOptions,
  ledgerConfigSchema,
  parseGlExport,
} from '../../src/ledger/index.js';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/gl/${name}`, import.meta.url));
}

/** A fixture as the bytes a Slack download or `fs.createReadStream` would give. */
export function fixture(name: string): Readable {
  return createReadStream(fixturePath(name), { highWaterMark: 256 });
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(fixturePath(name));
}

/** Text (or bytes) as a byte stream cut into `chunk`-byte pieces, so records straddle chunks. */
export function bytes(content: string | Buffer, chunk = 64 * 1024): Readable {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

export interface Parsed {
  entries: GlEntryDraft[];
  errors: GlParseError[];
  /** Entries by line number, for assertions that read like the file. */
  at(line: number): GlEntryDraft;
}

export async function collect(input: Readable, opts: ParseGlOptions = {}): Promise<Parsed> {
  const entries: GlEntryDraft[] = [];
  const errors: GlParseError[] = [];
  for await (const row of parseGlExport(input, opts)) {
    if (row.kind === 'entry') entries.push(row);
    else errors.push(row);
  }
  return {
    entries,
    errors,
    at(line: number) {
      const e = entries.find((x) => x.lineNumber === line);
      if (!e) throw new Error(`no entry on line ${line}; entries on ${entries.map((x) => x.lineNumber).join(', ')}`);
      return e;
    },
  };
}

export function config(input: LedgerConfigInput = {}) {
  return ledgerConfigSchema.parse(input);
}

/** The mappings the generic fixtures are written for, as they would sit in billops.yml. */
export const FIXTURE_MAPPINGS = {
  'eu-journal': {
    delimiter: ';',
    skip_rows: 2,
    date: 'Buchungsdatum',
    date_format: 'DD.MM.YYYY',
    decimal_separator: ',',
    amount: 'Betrag',
    currency: 'Währung',
    account: 'Konto',
    reference: 'Belegnummer',
    memo: 'Buchungstext',
    customer: 'Geschäftspartner',
  },
  'jp-ledger': {
    date: 'Date',
    date_format: 'YYYY/MM/DD',
    debit: 'Debit',
    credit: 'Credit',
    account: 'Account',
    memo: 'Description',
    reference: 'Voucher',
    default_currency: 'JPY',
  },
} satisfies NonNullable<NonNullable<LedgerConfigInput['generic']>['mappings']>;
