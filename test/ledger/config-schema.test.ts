import { describe, expect, it } from 'vitest';
import { ConfigError, parseBillopsYaml } from '../../src/config/index.js';
import { DEFAULT_INVOICE_NUMBER_PATTERNS, DEFAULT_STRIPE_ID_PATTERNS, ledgerConfigSchema } from '../../src/ledger/index.js';

function problems(input: unknown): string[] {
  const r = ledgerConfigSchema.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ledger config schema', () => {
  it('fills every default from an empty section', () => {
    expect(ledgerConfigSchema.parse({})).toEqual({
      decimal_separator: '.',
      currency_aliases: {},
      date_formats: { quickbooks: ['MM/DD/YYYY'], xero: ['DD MMM YYYY'], netsuite: ['M/D/YYYY'] },
      reference_patterns: { stripe_ids: [...DEFAULT_STRIPE_ID_PATTERNS], invoice_numbers: [...DEFAULT_INVOICE_NUMBER_PATTERNS] },
      quickbooks: { credit_normal_accounts: [] },
      generic: { mappings: {} },
    });
  });

  it('reads a full mapping and fills its defaults', () => {
    const c = ledgerConfigSchema.parse({
      default_currency: 'eur',
      generic: { mappings: { datev: { date: 'Belegdatum', amount: 'Betrag', account: 'Konto', decimal_separator: ',' } } },
    });
    expect(c.default_currency).toBe('EUR');
    expect(c.generic.mappings['datev']).toEqual({
      date: 'Belegdatum',
      amount: 'Betrag',
      account: 'Konto',
      decimal_separator: ',',
      date_format: 'YYYY-MM-DD',
      invert_sign: false,
      delimiter: ',',
      skip_rows: 0,
    });
  });

  it('names each problem where it is', () => {
    expect(
      problems({
        default_currency: 'dollars',
        decimal_separator: ';',
        date_formats: { quickbooks: ['mm/dd/yyyy'] },
        reference_patterns: { stripe_ids: ['ch_[0-9'], invoice_numbers: ['.*'] },
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
      'default_currency: expected a three-letter currency code such as USD, EUR, JPY',
      'decimal_separator: expected "." (1,234.56) or "," (1.234,56)',
      'date_formats.quickbooks.0: date format "mm/dd/yyyy" has "m" where a token was expected (use YYYY, YY, MM, M, DD, D, MMM; "mm" would mean minutes)',
      'reference_patterns.stripe_ids.0: "ch_[0-9" is not a valid regular expression (Invalid regular expression: /ch_[0-9/: Unterminated character class)',
      'reference_patterns.invoice_numbers.0: ".*" matches an empty string; it must match at least one character',
      'generic.mappings.both.amount: map either "amount" or both "debit" and "credit"',
      'generic.mappings.half.credit: map both "debit" and "credit"',
      'generic.mappings.noaccount.account: map an "account" column or set "default_account"',
      'generic.mappings.bad name!: mapping names use letters, digits, "-" and "_" (at most 64)',
      ': Unrecognized key: "extra"',
    ]);
  });

  it('is the ledger: section of billops.yml, whose default currency is the books\' currency unless set', () => {
    expect(parseBillopsYaml('{}').ledger.default_currency).toBe('USD');
    expect(parseBillopsYaml('org:\n  functional_currency: EUR\n').ledger.default_currency).toBe('EUR');
    const file = parseBillopsYaml(
      [
        'org:',
        '  functional_currency: EUR',
        'ledger:',
        '  default_currency: gbp',
        '  date_formats:',
        '    xero: [DD MMM YYYY, D MMMM YYYY]',
        '  generic:',
        '    mappings:',
        '      bank:',
        '        date: Posted',
        '        date_format: MM/DD/YYYY',
        '        amount: Amount',
        '        invert_sign: true',
        '        default_account: Operating Checking',
      ].join('\n'),
    );
    expect(file.ledger.default_currency).toBe('GBP');
    expect(file.ledger.date_formats.xero).toEqual(['DD MMM YYYY', 'D MMMM YYYY']);
    expect(file.ledger.generic.mappings['bank']).toMatchObject({ date_format: 'MM/DD/YYYY', invert_sign: true, default_account: 'Operating Checking' });
  });

  it('refuses the old camelCase keys in billops.yml, naming each', () => {
    const err = (() => {
      try {
        parseBillopsYaml('ledger:\n  defaultCurrency: EUR\n  generic:\n    mappings:\n      bank: { date: Posted, amount: Amount, account: A, dateFormat: MM/DD/YYYY }\n');
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect([...(err as ConfigError).problems].sort()).toEqual([
      'billops.yml: ledger.defaultCurrency: unknown key (check the spelling against the README\'s configuration reference)',
      'billops.yml: ledger.generic.mappings.bank.dateFormat: unknown key (check the spelling against the README\'s configuration reference)',
    ]);
  });
});
