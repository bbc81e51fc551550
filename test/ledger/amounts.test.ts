import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ledgerAmountToMinor } from '../../src/money/index.js';
import { fastLedgerAmount } from '../../src/ledger/rows.js';

/** Amount cells as ledgers write them, plus near-misses. */
function cellText(sep: '.' | ','): fc.Arbitrary<string> {
  const group = sep === '.' ? ',' : '.';
  const digits = fc.stringMatching(/^[0-9]{1,18}$/);
  const grouped = fc.bigInt({ min: 0n, max: 10n ** 17n }).map((n) => n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, group));
  const frac = fc.option(fc.stringMatching(/^[0-9]{0,4}$/), { nil: undefined });
  const sign = fc.constantFrom('', '-', '+', '(');
  return fc.tuple(sign, fc.oneof(digits, grouped), frac, fc.constantFrom('', '', '', ' ', 'x', group)).map(([s, w, f, junk]) => {
    const body = `${w}${f === undefined ? '' : `${sep}${f}`}${junk}`;
    return s === '(' ? `(${body})` : `${s}${body}`;
  });
}

function slow(raw: string, currency: string, sep: '.' | ','): bigint | 'error' {
  try {
    return ledgerAmountToMinor(raw, currency, { decimalSeparator: sep }) ?? 'error';
  } catch {
    return 'error';
  }
}

describe('fast amount path', () => {
  it.each([
    ['.', 'USD', 2],
    [',', 'EUR', 2],
    ['.', 'JPY', 0],
    [',', 'KWD', 3],
  ] as const)('agrees with ledgerAmountToMinor on every text it accepts (%s, %s)', (sep, currency, exp) => {
    fc.assert(
      fc.property(cellText(sep), (raw) => {
        const fast = fastLedgerAmount(raw, exp, sep);
        if (fast !== null) expect(fast).toBe(slow(raw, currency, sep));
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the common shapes and leaves the rest to the money module', () => {
    expect(fastLedgerAmount('1,234.56', 2, '.')).toBe(123456n);
    expect(fastLedgerAmount('-1.234,5', 2, ',')).toBe(-123450n);
    expect(fastLedgerAmount('132,000', 0, '.')).toBe(132000n);
    for (const other of ['(1.00)', '$5.00', '1.005', '1,23', '12O.00', '9999999999999999']) expect(fastLedgerAmount(other, 2, '.')).toBeNull();
  });
});
