import { describe, expect, it } from 'vitest';
import { DEFAULT_INVOICE_NUMBER_PATTERNS, DEFAULT_STRIPE_ID_PATTERNS, ReferenceExtractor } from '../../src/ledger/index.js';
import { referencePatternProblem } from '../../src/ledger/references.js';

describe('reference extraction', () => {
  const refs = new ReferenceExtractor();

  it('finds every kind of Stripe id the matcher uses, in order, once each', () => {
    const memo =
      'in_1PwZ9y8X7w6V5u4T3s2R1q0P paid by ch_3PxA1b2C3d4E5f6G7h8I9j0K (pi_3PxA1b2C3d4E5f6G7h8I9j0K), refund re_3PxD4e5F6g7H8i9J0k1L2m3N; ' +
      'ACH py_1PxK1l2M3n4O5p6Q7r8S9t0U, payout po_1PxE5f6G7h8I9j0K1l2M3n4O / txn_3PxC3d4E5f6G7h8I9j0K1l2M, ' +
      'customer cus_NffrFeUfNV2Hib, credit note cn_1MxvRqLkdIwHu7ixY0xbUcxk, disputes dp_1PxL2m3N4o5P6q7R8s9T0u1V du_1AbCdEfGhIjKlMnOp, ' +
      'again ch_3PxA1b2C3d4E5f6G7h8I9j0K';
    expect(refs.extract(memo).stripeIds).toEqual([
      'in_1PwZ9y8X7w6V5u4T3s2R1q0P',
      'ch_3PxA1b2C3d4E5f6G7h8I9j0K',
      'pi_3PxA1b2C3d4E5f6G7h8I9j0K',
      're_3PxD4e5F6g7H8i9J0k1L2m3N',
      'py_1PxK1l2M3n4O5p6Q7r8S9t0U',
      'po_1PxE5f6G7h8I9j0K1l2M3n4O',
      'txn_3PxC3d4E5f6G7h8I9j0K1l2M',
      'cus_NffrFeUfNV2Hib',
      'cn_1MxvRqLkdIwHu7ixY0xbUcxk',
      'dp_1PxL2m3N4o5P6q7R8s9T0u1V',
      'du_1AbCdEfGhIjKlMnOp',
    ]);
  });

  it('leaves words and short tokens alone', () => {
    expect(refs.extract('status in_progress, plugin_abcdefghijklmnop, ch_short, xch_3PxA1b2C3d4E5f6G7h8I9j0K').stripeIds).toEqual([]);
  });

  it('finds invoice numbers with and without a second sequence, but not dates, phone numbers or short prefixes', () => {
    expect(refs.extract('NWA-0042 and ABC-0042-0001', 'F3B1C2D4-0107').invoiceNumbers).toEqual(['NWA-0042', 'ABC-0042-0001', 'F3B1C2D4-0107']);
    expect(refs.extract('2026-0901 555-1234 JE-0917 PO-1021 abc-0042').invoiceNumbers).toEqual([]);
  });

  it('uses configured patterns, taking the first capture group when there is one', () => {
    const custom = new ReferenceExtractor({ stripeIds: DEFAULT_STRIPE_ID_PATTERNS, invoiceNumbers: ['Invoice #(\\d{5})', 'INV/\\d{4}/\\d{3}'] });
    expect(custom.extract('Invoice #10042 paid', 'INV/2026/088').invoiceNumbers).toEqual(['10042', 'INV/2026/088']);
    expect(DEFAULT_INVOICE_NUMBER_PATTERNS.length).toBeGreaterThan(0);
  });

  it('validates configured patterns', () => {
    expect(referencePatternProblem('in_[a-z')).toMatch(/^"in_\[a-z" is not a valid regular expression/);
    expect(referencePatternProblem('x*')).toBe('"x*" matches an empty string; it must match at least one character');
    expect(referencePatternProblem('\\bch_\\w+')).toBeNull();
  });
});
