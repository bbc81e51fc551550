import { z } from 'zod';
import { dateFormatProblem } from './dates.js';
import { DEFAULT_INVOICE_NUMBER_PATTERNS, DEFAULT_STRIPE_ID_PATTERNS, referencePatternProblem } from './references.js';

/**
 * The `ledger:` section of billops.yml. Every key is optional; `ledgerConfigSchema.parse({})` gives the
 * defaults. Example:
 *
 * ```yaml
 * ledger:
 *   default_currency: USD            # absent → org.functional_currency (filled in by billopsFileSchema)
 *   decimal_separator: "."
 *   date_formats:
 *     quickbooks: [MM/DD/YYYY]
 *     xero: [DD MMM YYYY]
 *     netsuite: [M/D/YYYY]
 *   reference_patterns:
 *     stripe_ids: ['\b(?:in|ch|re|py|po|txn|cus|cn|pi|dp|du)_[0-9A-Za-z]{14,}\b']
 *     invoice_numbers: ['\b(?=[0-9A-Z]*[A-Z])[0-9A-Z]{3,12}-\d{4,}(?:-\d{4,})?\b']
 *   quickbooks:
 *     credit_normal_accounts: ['^Subscription Revenue$']
 *   generic:
 *     mappings:
 *       datev:
 *         delimiter: ";"
 *         skip_rows: 1
 *         date: Belegdatum
 *         date_format: DD.MM.YYYY
 *         decimal_separator: ","
 *         amount: Betrag
 *         currency: Währung
 *         account: Konto
 *         reference: Belegfeld 1
 *         memo: Buchungstext
 * ```
 */

const currencyCode = z
  .string()
  .trim()
  .transform((s) => s.toUpperCase())
  .pipe(z.string().regex(/^[A-Z]{3}$/, 'expected a three-letter currency code such as USD, EUR, JPY'));

const decimalSeparator = z.enum(['.', ','], { error: 'expected "." (1,234.56) or "," (1.234,56)' });

const dateFormat = z
  .string()
  .trim()
  .superRefine((s, ctx) => {
    const problem = dateFormatProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const dateFormatList = z.array(dateFormat).min(1, 'list at least one date format');

const referencePattern = z.string().superRefine((s, ctx) => {
  const problem = referencePatternProblem(s);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A column of the file, by its header text (compared without case and surrounding spaces). */
const column = z.string().trim().min(1, 'column name is empty');

export const genericMappingSchema = z
  .strictObject({
    /** Column holding the posting date. */
    date: column,
    date_format: dateFormat.default('YYYY-MM-DD'),
    /** One signed amount column (debit positive) … */
    amount: column.optional(),
    /** … or separate debit and credit columns. */
    debit: column.optional(),
    credit: column.optional(),
    /** Exports that show credits positive: flip every amount. */
    invert_sign: z.boolean().default(false),
    /** Column with an ISO currency code; without it every row is in `default_currency`. */
    currency: column.optional(),
    default_currency: currencyCode.optional(),
    /** Column naming the GL account; `default_account` for single-account files. */
    account: column.optional(),
    default_account: z.string().trim().min(1).optional(),
    reference: column.optional(),
    memo: column.optional(),
    customer: column.optional(),
    external_id: column.optional(),
    transaction_type: column.optional(),
    /** Falls back to `ledger.decimal_separator`. */
    decimal_separator: decimalSeparator.optional(),
    delimiter: z.enum([',', ';', '\t', '|']).default(','),
    /** Physical lines before the header row (titles); the header is searched for after them. */
    skip_rows: z.number().int().min(0).max(1000).default(0),
  })
  .superRefine((m, ctx) => {
    const hasAmount = m.amount !== undefined;
    const hasDebitCredit = m.debit !== undefined || m.credit !== undefined;
    if (hasAmount === hasDebitCredit) {
      ctx.addIssue({ code: 'custom', message: 'map either "amount" or both "debit" and "credit"', path: ['amount'] });
    } else if (hasDebitCredit && (m.debit === undefined || m.credit === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'map both "debit" and "credit"', path: [m.debit === undefined ? 'debit' : 'credit'] });
    }
    if (m.account === undefined && m.default_account === undefined) {
      ctx.addIssue({ code: 'custom', message: 'map an "account" column or set "default_account"', path: ['account'] });
    }
  });

const MAPPING_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const ledgerConfigSchema = z.strictObject({
  /**
   * Currency of rows whose export has no currency column. Left undefined when absent, so that
   * billopsFileSchema can fill in `org.functional_currency`; the parsers fall back to USD on their own.
   */
  default_currency: currencyCode.optional(),
  /** Decimal separator of QuickBooks, Xero and NetSuite amounts (generic mappings can override). */
  decimal_separator: decimalSeparator.default('.'),
  /** Currency names some exports print instead of codes ("US Dollar" → USD); added to built-in names. */
  currency_aliases: z.record(z.string().trim().min(1), currencyCode).default({}),
  date_formats: z
    .strictObject({
      quickbooks: dateFormatList.default(['MM/DD/YYYY']),
      xero: dateFormatList.default(['DD MMM YYYY']),
      netsuite: dateFormatList.default(['M/D/YYYY']),
    })
    .prefault({}),
  /** Replace the defaults to recognise other id or invoice-number shapes. */
  reference_patterns: z
    .strictObject({
      stripe_ids: z.array(referencePattern).default([...DEFAULT_STRIPE_ID_PATTERNS]),
      invoice_numbers: z.array(referencePattern).default([...DEFAULT_INVOICE_NUMBER_PATTERNS]),
    })
    .prefault({}),
  quickbooks: z
    .strictObject({
      /**
       * Accounts (regular expressions on the account name) whose single Amount column the report shows
       * credit-positive; their amounts are negated so every draft is debit-positive.
       */
      credit_normal_accounts: z.array(referencePattern).default([]),
    })
    .prefault({}),
  generic: z
    .strictObject({
      mappings: z
        .record(z.string(), genericMappingSchema)
        .superRefine((mappings, ctx) => {
          for (const name of Object.keys(mappings)) {
            if (!MAPPING_NAME.test(name)) {
              ctx.addIssue({ code: 'custom', message: 'mapping names use letters, digits, "-" and "_" (at most 64)', path: [name] });
            }
          }
        })
        .default({}),
    })
    .prefault({}),
});

export type LedgerConfig = z.output<typeof ledgerConfigSchema>;
export type LedgerConfigInput = z.input<typeof ledgerConfigSchema>;
export type GenericMapping = z.output<typeof genericMappingSchema>;
