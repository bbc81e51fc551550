import { UserError } from '../util/index.js';

/** The accounting system a GL export came from. */
export type GlSourceSystem = 'quickbooks' | 'xero' | 'netsuite' | 'generic';
/** What `--format` accepts: one of the source systems. */
export type GlFormat = GlSourceSystem;
export const GL_FORMATS: readonly GlFormat[] = ['quickbooks', 'xero', 'netsuite', 'generic'];

/** The business fields of one GL posting, before it gets its line number, key and extracted references. */
export interface GlEntryFields {
  /** Posting date, `YYYY-MM-DD`. */
  date: string;
  account: string;
  /** Signed minor units: debit positive, credit negative. */
  amountMinor: bigint;
  /** ISO 4217, upper case. */
  currency: string;
  reference: string | null;
  memo: string | null;
  customerName: string | null;
  externalId: string | null;
  transactionType: string | null;
  /** NetSuite's posting period ("Sep 2026"); null elsewhere. */
  accountingPeriod: string | null;
}

/** One GL posting read from an export, ready for the loader. */
export interface GlEntryDraft extends GlEntryFields {
  kind: 'entry';
  sourceSystem: GlSourceSystem;
  /** 1-based physical line where the record starts, as a text editor numbers it. */
  lineNumber: number;
  /**
   * Stable identity of the posting: sha256 over source system and normalized content, and for the
   * second and later occurrences of identical content in the file, their ordinal too. Same file or an
   * overlapping file → same keys; a row genuinely posted twice → two keys.
   */
  lineKey: string;
  /** Stripe object ids found in reference and memo (in_, ch_, re_, py_, po_, txn_, cus_, cn_, pi_, dp_, du_). */
  stripeIds: string[];
  /** Invoice numbers found in reference and memo (ABC-0042, ABC-0042-0001). */
  invoiceNumbers: string[];
}

/** A problem with one row; parsing goes on so every problem in a file can be listed. */
export interface GlParseError {
  kind: 'error';
  /** 1-based physical line where the offending record starts. */
  line: number;
  /** Header text of the offending column, when the problem is in one cell. */
  column: string | null;
  /** Complete, person-readable message, location included: `line 14, column "Date": …`. */
  message: string;
}

export type ParsedRow = GlEntryDraft | GlParseError;

/** What the parser found at the top of the file. */
export interface DetectedGlFormat {
  format: GlFormat;
  /** Name of the `ledger.generic.mappings` entry used, for the generic format. */
  mapping: string | null;
  /** Physical line of the header row. */
  headerLine: number;
  /** The header cells as they appear in the file. */
  columns: string[];
  /** Field delimiter the file uses. */
  delimiter: string;
}

/** A whole-file problem (unknown or ambiguous format, missing mapped columns): nothing is imported. */
export class GlImportError extends UserError {
  override readonly name: string = 'GlImportError';
}
