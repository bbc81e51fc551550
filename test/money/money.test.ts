import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MoneyError,
  allocate,
  convertMinor,
  currencyExponent,
  decimalToMinor,
  formatMoney,
  ledgerAmountToMinor,
  minorToDecimal,
  parseUserAmount,
} from '../../src/money/index.js';

describe('currency exponents', () => {
  it('knows zero-, two- and three-decimal currencies', () => {
    expect(currencyExponent('usd')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KRW')).toBe(0);
    expect(currencyExponent('BHD')).toBe(3);
    expect(currencyExponent('KWD')).toBe(3);
    expect(() => currencyExponent('US')).toThrow(/not a currency code/);
  });
});

describe('what a person types', () => {
  it.each([
    ['1,234.50', 'USD', 123450n, 'USD'],
    ['1,000.50', 'USD', 100050n, 'USD'],
    ['$5', undefined, 500n, 'USD'],
    ['5', 'USD', 500n, 'USD'],
    ['0.01', 'USD', 1n, 'USD'],
    ['¥500', undefined, 500n, 'JPY'],
    ['500', 'JPY', 500n, 'JPY'],
    ['1.250', 'BHD', 1250n, 'BHD'],
    ['1.250 BHD', undefined, 1250n, 'BHD'],
    ['EUR 12', undefined, 1200n, 'EUR'],
    ['€12.30', undefined, 1230n, 'EUR'],
    ['1,000,000', 'KRW', 1000000n, 'KRW'],
  ])('%s (%s) → %s %s', (input, currency, amount, code) => {
    expect(parseUserAmount(input, currency ? { currency } : {})).toEqual({ amount, currency: code });
  });

  it.each([
    ['5.001', 'USD', /3 decimals, but USD has 2/],
    ['500.5', 'JPY', /JPY has no minor unit/],
    ['1.2345', 'BHD', /4 decimals, but BHD has 3/],
    ['1.234,50', 'EUR', /ambiguous/],
    ['1,23', 'USD', /ambiguous/],
    ['12,34,567', 'USD', /ambiguous/],
    ['1e3', 'USD', /not a plain number/],
    ['0x10', 'USD', /not a number/],
    ['.5', 'USD', /not a plain number/],
    ['5.', 'USD', /not a plain number/],
    ['NaN', 'USD', /not a number/],
    ['', 'USD', /empty/],
    ['-5', 'USD', /must be positive/],
    ['0', 'USD', /more than zero/],
    ['0.00', 'USD', /more than zero/],
    ['12', undefined, /needs a currency/],
    ['EUR 12', 'USD', /is in EUR, but this is a USD amount/],
    ['99999999999999999', 'USD', /larger than billops accepts/],
  ])('refuses %s (%s)', (input, currency, message) => {
    const run = () => parseUserAmount(input, currency ? { currency } : {});
    expect(run).toThrow(MoneyError);
    expect(run).toThrow(message);
  });

  it('allows negative and zero only when asked', () => {
    expect(parseUserAmount('-5', { currency: 'USD', allowNegative: true }).amount).toBe(-500n);
    expect(parseUserAmount('0', { currency: 'USD', allowZero: true }).amount).toBe(0n);
  });
});

describe('report and ledger decimals', () => {
  it('converts major-unit decimals exactly', () => {
    expect(decimalToMinor('1234.56', 'usd')).toBe(123456n);
    expect(decimalToMinor('-0.5', 'EUR')).toBe(-50n);
    expect(decimalToMinor('500', 'JPY')).toBe(500n);
    expect(decimalToMinor('1.005', 'BHD')).toBe(1005n);
    expect(decimalToMinor('0.1', 'USD') + decimalToMinor('0.2', 'USD')).toBe(decimalToMinor('0.3', 'USD'));
    expect(() => decimalToMinor('1,234.56', 'USD')).toThrow(/not a number/);
    expect(() => decimalToMinor('1.005', 'USD')).toThrow(/3 decimals/);
    expect(decimalToMinor('1.005', 'USD', { rounding: 'half_even' })).toBe(100n);
    expect(decimalToMinor('1.015', 'USD', { rounding: 'half_even' })).toBe(102n);
    expect(decimalToMinor('1.005', 'USD', { rounding: 'half_up' })).toBe(101n);
  });

  it('reads accounting-export amounts', () => {
    expect(ledgerAmountToMinor('(1,234.56)', 'USD')).toBe(-123456n);
    expect(ledgerAmountToMinor('-1,234.56', 'USD')).toBe(-123456n);
    expect(ledgerAmountToMinor('1234.56-', 'USD')).toBe(-123456n);
    expect(ledgerAmountToMinor('$1,234.56', 'USD')).toBe(123456n);
    expect(ledgerAmountToMinor('1.234,56', 'EUR', { decimalSeparator: ',' })).toBe(123456n);
    expect(ledgerAmountToMinor('1 234,56', 'EUR', { decimalSeparator: ',' })).toBe(123456n);
    expect(ledgerAmountToMinor('', 'USD')).toBeNull();
    expect(() => ledgerAmountToMinor('12abc', 'USD')).toThrow(/"12abc" is not a number/);
    expect(() => ledgerAmountToMinor('1,2,3', 'USD')).toThrow(/not a number/);
  });
});

describe('formatting', () => {
  it('formats for Slack', () => {
    expect(formatMoney({ amount: 123450n, currency: 'USD' })).toBe('$1,234.50');
    expect(formatMoney({ amount: -5n, currency: 'USD' })).toBe('-$0.05');
    expect(formatMoney({ amount: 500n, currency: 'JPY' })).toBe('¥500');
    expect(formatMoney({ amount: 1250n, currency: 'BHD' })).toBe('BHD 1.250');
    expect(formatMoney({ amount: 123456789n, currency: 'EUR' })).toBe('€1,234,567.89');
    expect(formatMoney({ amount: 100n, currency: 'USD' }, { code: true })).toBe('USD 1.00');
  });

  it('round-trips every amount through format and parse (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 14n }), fc.constantFrom('USD', 'JPY', 'BHD', 'EUR', 'KRW', 'KWD'), (amount, currency) => {
        const shown = formatMoney({ amount, currency }, { code: true });
        expect(parseUserAmount(shown)).toEqual({ amount, currency });
        expect(decimalToMinor(minorToDecimal(amount, currency), currency)).toBe(amount);
      }),
    );
  });
});

describe('conversion and allocation', () => {
  it('converts across different minor units with explicit rounding', () => {
    expect(convertMinor(10000n, 'EUR', 'USD', '1.0825')).toBe(10825n);
    expect(convertMinor(10000n, 'EUR', 'JPY', '161.234')).toBe(16123n);
    expect(convertMinor(16123n, 'JPY', 'EUR', '0.0062')).toBe(9996n);
    expect(convertMinor(1n, 'USD', 'BHD', '0.376')).toBe(4n);
    expect(() => convertMinor(1n, 'USD', 'EUR', '-1')).toThrow(/not a positive decimal/);
  });

  it('allocates exactly, deterministically', () => {
    expect(allocate(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(allocate(-100n, [1n, 1n, 1n])).toEqual([-34n, -33n, -33n]);
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.array(fc.bigInt({ min: 1n, max: 10n ** 6n }), { minLength: 1, maxLength: 12 }), (amount, weights) => {
        const parts = allocate(amount, weights);
        expect(parts.reduce((s, p) => s + p, 0n)).toBe(amount);
      }),
    );
  });
});
