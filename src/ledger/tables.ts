import type { ColumnType, Generated } from 'kysely';
import type { Int8, Json, Timestamp } from '../db/types.js';
import type { GlSourceSystem } from './types.js';

/** How an import reached billops. */
export type GlImportVia = 'cli' | 'slack' | 'demo' | 'api';

type TextArray = ColumnType<string[], string[] | undefined, string[]>;
/** `date` columns come back as 'YYYY-MM-DD' text (see db/connect.ts). */
type DateText = ColumnType<string, string, string>;

/** One imported file (migrations/0003_ledger.ts). */
export interface GlImportsTable {
  id: Generated<bigint>;
  source_system: GlSourceSystem;
  /** `ledger.generic.mappings` entry, for the generic format. */
  mapping: string | null;
  file_name: string;
  /** Hex sha256 of the file's bytes; unique, so the same file twice is recognised. */
  sha256: string;
  size_bytes: Int8;
  /** Postings read from the file. */
  rows_read: number;
  /** Postings this import added. */
  entries_new: number;
  /** Postings already there from an earlier (overlapping) import. */
  entries_existing: number;
  /** The first 1,000 accounts, sorted; `account_count` has how many there are. */
  accounts: string[];
  account_count: number;
  date_from: DateText | null;
  date_to: DateText | null;
  /** `{ "USD": { "debit": "123450", "credit": "123450", "entries": 12 } }`, minor units as strings. */
  totals: Json;
  /** Slack user id, or the OS user for the CLI. */
  imported_by: string;
  imported_via: GlImportVia;
  imported_at: Timestamp;
  duration_ms: number;
}

/** One GL posting, with the file and line it came from. */
export interface GlEntriesTable {
  id: Generated<bigint>;
  import_id: Int8;
  source_system: GlSourceSystem;
  source_file: string;
  source_line: number;
  line_key: string;
  entry_date: DateText;
  account: string;
  /** Signed minor units, debit positive. */
  amount: Int8;
  currency: string;
  reference: string | null;
  memo: string | null;
  customer_name: string | null;
  external_id: string | null;
  transaction_type: string | null;
  accounting_period: string | null;
  stripe_ids: TextArray;
  invoice_numbers: TextArray;
  created_at: Timestamp;
}

export interface LedgerTables {
  gl_imports: GlImportsTable;
  gl_entries: GlEntriesTable;
}
