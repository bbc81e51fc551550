import { describe, expect, it } from 'vitest';
import { DEFAULT_INVOICE_NUMBER_PATTERNS, DEFAULT_STRIPE_ID_PATTERNS, ledgerConfigSchema } from '../../src/ledger/index.js';

function problems(input: unknown): string[] {
  const r = ledgerConfigSchema.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ledger config schema', () => {
  it('fills every default from an empty section', () => {
    expect(ledgerConfigSchema.parse({})).toEqual({
      defaultCurrency: 'USD',
      decimalSeparator: '.',
      currencyAliases: {},
      dateFormats: { quickbooks: ['MM/DD/YYYY'], xero: ['DD MMM YYYY'], netsuite: ['M/D/YYYY'] },
      referencePatterns: { stripeIds: [...DEFAULT_STRIPE_ID_PATTERNS], invoiceNumbers: [...DEFAULT_INVOICE_NUMBER_PATTERNS] },
      quickbooks: { creditNormalAccounts: [] },
      generic: { mappings: {} },
    });
  });

  it('reads a full mapping and fills its defaults', () => {
    const c = ledgerConfigSchema.parse({
      defaultCurrency: 'eur',
      generic: { mappings: { datev: { date: 'Belegdatum', amount: 'Betrag', account: 'Konto', decimalSeparator: ',' } } },
    });
    expect(c.defaultCurrency).toBe('EUR');
    expect(c.generic.mappings['datev']).toEqual({
      date: 'Belegdatum',
      amount: 'Betrag',
      account: 'Konto',
      decimalSeparator: ',',
      dateFormat: 'YYYY-MM-DD',
      invertSign: false,
      delimiter: ',',
      skipRows: 0,
    });
  });

  it('names each problem where it is', () => {
    expect(
      problems({
        defaultCurrency: 'dollars',
        decimalSeparator: ';',
        dateFormats: { quickbooks: ['mm/dd/yyyy'] },
        referencePatterns: { stripeIds: ['ch_[0-9'], invoiceNumbers: ['.*'] },
        generic: {
          mappings: {
            'bad name!': { date: 'Date', amount: 'Amount', account: 'A' },
            both: { date: 'Date', amount: 'Amount', debit: 'Debit', account: 'A' },
            half: { date: 'Date', debit: 'Debit', account: 'A' },
            noaccount: { date: 'Date', amount: 'Amount' },
          },
        },
        extra: true,
      }),
    ).toEqual([
      'defaultCurrency: expected a three-letter currency code such as USD, EUR, JPY',
      'decimalSeparator: expected "." (1,234.56) or "," (1.234,56)',
      'dateFormats.quickbooks.0: date format "mm/dd/yyyy" has "m" where a token was expected (use YYYY, YY, MM, M, DD, D, MMM; "mm" would mean minutes)',
      'referencePatterns.stripeIds.0: "ch_[0-9" is not a valid regular expression (Invalid regular expression: /ch_[0-9/: Unterminated character class)',
      'referencePatterns.invoiceNumbers.0: ".*" matches an empty string; it must match at least one character',
      'generic.mappings.both.amount: map either "amount" or both "debit" and "credit"',
      'generic.mappings.half.credit: map both "debit" and "credit"',
      'generic.mappings.noaccount.account: map an "account" column or set "defaultAccount"',
      'generic.mappings.bad name!: mapping names use letters, digits, "-" and "_" (at most 64)',
      ': Unrecognized key: "extra"',
    ]);
  });
});
