import { MoneyError, currencyExponent, ledgerAmountToMinor, normalizeCurrency } from '../money/index.js';
import type { CompiledLedgerConfig } from './compiled-config.js';
import type { DateParser } from './dates.js';
import type { EntryFactory } from './entry.js';
import type { GlParseError, ParsedRow } from './types.js';

const FAST_POINT = /^(-?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/;
const FAST_COMMA = /^(-?)(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?$/;
const GROUPING = /[,.]/g;

/**
 * The shapes nearly every ledger cell has ("1234.50", "-1,234.56", "1.234,56"), read without the
 * decimal arithmetic `ledgerAmountToMinor` does; the same result for every text it accepts (a property
 * test holds it to that). Anything else — parentheses, symbols, too many decimals, huge values, garbage —
 * returns null and goes through `ledgerAmountToMinor`, which owns the rules and the error messages.
 */
export function fastLedgerAmount(raw: string, exponent: number, decimalSeparator: '.' | ','): bigint | null {
  const m = (decimalSeparator === '.' ? FAST_POINT : FAST_COMMA).exec(raw);
  if (m === null) return null;
  const whole = m[2] ?? '';
  const frac = m[3] ?? '';
  if (frac.length > exponent) return null;
  const digits = (whole.length > 3 ? whole.replace(GROUPING, '') : whole) + frac.padEnd(exponent, '0');
  // Up to 15 digits stays under MAX_MINOR_UNITS (10^15); longer goes the checked way.
  if (digits.length > 15) return null;
  const v = BigInt(digits);
  return m[1] === '-' ? -v : v;
}

/** Returned by cell readers after they have pushed an error for the cell. */
export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

/** A header row: the cells as written and normalized for lookup. */
export interface HeaderCells {
  raw: readonly string[];
  norm: readonly string[];
}

export function normHeader(s: string): string {
  return s.replace(/\uFEFF/g, '').trim().replace(/\s+/g, ' ').toLowerCase();
}

export function headerCells(fields: readonly string[]): HeaderCells {
  return { raw: fields.map((f) => f.trim()), norm: fields.map(normHeader) };
}

/** Index of the first header cell named any of `names` (normalized), or -1. */
export function findColumn(h: HeaderCells, names: readonly string[]): number {
  for (const n of names) {
    const i = h.norm.indexOf(n);
    if (i >= 0) return i;
  }
  return -1;
}

export function hasColumn(h: HeaderCells, names: readonly string[]): boolean {
  return findColumn(h, names) >= 0;
}

export function cell(fields: readonly string[], i: number): string {
  if (i < 0) return '';
  const v = fields[i];
  return v === undefined ? '' : v.trim();
}

export function firstNonEmpty(fields: readonly string[]): number {
  for (let i = 0; i < fields.length; i++) if ((fields[i] ?? '').trim() !== '') return i;
  return -1;
}

/** Non-empty cells, counting no further than `stopAt`. */
export function nonEmptyCount(fields: readonly string[], stopAt = Number.POSITIVE_INFINITY): number {
  let n = 0;
  for (const f of fields) if (f.trim() !== '' && ++n >= stopAt) break;
  return n;
}

export function anyNonEmpty(fields: readonly string[], indices: readonly number[]): boolean {
  for (const i of indices) if (cell(fields, i) !== '') return true;
  return false;
}

/** The header again further down (page breaks in some exports). */
export function isHeaderRepeat(fields: readonly string[], h: HeaderCells): boolean {
  let matched = 0;
  for (let i = 0; i < h.norm.length; i++) {
    const n = h.norm[i] ?? '';
    if (n === '') continue;
    if (normHeader(fields[i] ?? '') !== n) return false;
    matched++;
  }
  return matched > 0;
}

/** Balance rows every report prints around an account's lines. */
export const BALANCE_LABEL = /^(?:opening balance|closing balance|beginning balance|ending balance|balance forward|net movement|net change)\b/i;
/** QuickBooks' footer: "Accrual Basis Monday, October 5, 2026 09:15 AM GMT-07:00". */
export const FOOTER_LABEL = /^(?:accrual|cash) basis\b/i;
/** Looks like a date, so a lone cell with it is a broken row rather than a heading. */
export const DATE_LIKE = /^(?:\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|\d{1,2}[ -][A-Za-z]{3,9}\.?[ -]\d{2,4})$/;

export function location(line: number, column: string | null): string {
  return column === null ? `line ${line}` : `line ${line}, column "${column}"`;
}

export function rowError(line: number, column: string | null, detail: string): GlParseError {
  return { kind: 'error', line, column, message: `${location(line, column)}: ${detail}` };
}

/** Everything a format's row parser gets from the entry point. */
export interface RowParserContext {
  config: CompiledLedgerConfig;
  /** Currency for rows without a currency column (already normalized). */
  defaultCurrency: string;
  /** The caller named the currency (`--currency`): it beats a generic mapping's own default. */
  currencyOverride: string | null;
  entries: EntryFactory;
}

/** Turns the records after the header into drafts and errors, pushing them to `out`. */
export interface RowParser {
  row(fields: readonly string[], line: number, out: ParsedRow[]): void;
  /** End of file: flush anything held back. */
  end(out: ParsedRow[]): void;
}

/**
 * Reads typed cells, reporting what was found and what was expected. Holds per-file caches (currency
 * cells repeat the same few values a million times).
 */
export class CellReader {
  private readonly currencies = new Map<string, string | null>();
  private readonly amountExample: string;
  private exponentOf = '';
  private exponent = 2;

  constructor(
    private readonly header: readonly string[],
    private readonly config: CompiledLedgerConfig,
    private readonly decimalSeparator: '.' | ',',
  ) {
    this.amountExample = decimalSeparator === '.' ? '1,234.56, -1,234.56 or (1,234.56)' : '1.234,56, -1.234,56 or (1.234,56)';
  }

  columnName(i: number): string {
    return this.header[i] || `column ${i + 1}`;
  }

  /** `YYYY-MM-DD`; null for an empty cell; INVALID after reporting a bad one. */
  date(fields: readonly string[], i: number, parser: DateParser, line: number, out: ParsedRow[]): string | null | Invalid {
    const raw = cell(fields, i);
    if (raw === '') return null;
    const d = parser.parse(raw);
    if (d !== null) return d;
    out.push(rowError(line, this.columnName(i), `"${raw}" is not a date (expected ${parser.expected})`));
    return INVALID;
  }

  /** Signed minor units; null for an empty cell; INVALID after reporting a bad one. */
  amount(fields: readonly string[], i: number, currency: string, line: number, out: ParsedRow[]): bigint | null | Invalid {
    const raw = cell(fields, i);
    if (raw === '') return null;
    if (currency !== this.exponentOf) {
      this.exponent = currencyExponent(currency);
      this.exponentOf = currency;
    }
    const fast = fastLedgerAmount(raw, this.exponent, this.decimalSeparator);
    if (fast !== null) return fast;
    try {
      return ledgerAmountToMinor(raw, currency, { decimalSeparator: this.decimalSeparator });
    } catch (err) {
      if (!(err instanceof MoneyError)) throw err;
      const detail = err.message.startsWith('Amount ') ? err.message.slice('Amount '.length) : err.message;
      const message = detail.endsWith('is not a number')
        ? `"${raw}" is not an amount (expected a number like ${this.amountExample})`
        : detail;
      out.push(rowError(line, this.columnName(i), message));
      return INVALID;
    }
  }

  /**
   * Debit minus credit, so debits are positive and credits negative. null when both are empty.
   * Reports both cells when both are bad.
   */
  debitCredit(fields: readonly string[], debitAt: number, creditAt: number, currency: string, line: number, out: ParsedRow[]): bigint | null | Invalid {
    const debit = this.amount(fields, debitAt, currency, line, out);
    const credit = this.amount(fields, creditAt, currency, line, out);
    if (debit === INVALID || credit === INVALID) return INVALID;
    if (debit === null && credit === null) return null;
    return (debit ?? 0n) - (credit ?? 0n);
  }

  /** ISO code from a currency cell (codes or known names); `fallback` when the cell is empty. */
  currency(fields: readonly string[], i: number, fallback: string, line: number, out: ParsedRow[]): string | Invalid {
    const raw = cell(fields, i);
    if (raw === '') return fallback;
    let code = this.currencies.get(raw);
    if (code === undefined) {
      code = this.config.currencyNames.get(raw.toLowerCase()) ?? null;
      if (code === null) {
        try {
          code = normalizeCurrency(raw);
        } catch {
          code = null;
        }
      }
      if (this.currencies.size < 1000) this.currencies.set(raw, code);
    }
    if (code !== null) return code;
    out.push(
      rowError(line, this.columnName(i), `"${raw}" is not a currency (expected a three-letter code such as USD, or a name listed in ledger.currency_aliases)`),
    );
    return INVALID;
  }
}
