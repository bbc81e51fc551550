/**
 * Stripe ids and invoice numbers inside GL memo and reference fields. Patterns come from billops.yml
 * as strings (`ledger.reference_patterns`); each is compiled once. A pattern with a capture group
 * contributes group 1, otherwise the whole match.
 */

/**
 * Stripe object ids: invoices, charges, refunds, payments, payouts, balance transactions, customers,
 * credit notes, payment intents, disputes. Stripe's shortest ids (customers) have 14 characters after
 * the prefix; requiring that keeps words like `in_progress` out.
 */
export const DEFAULT_STRIPE_ID_PATTERNS: readonly string[] = [
  '\\b(?:in|ch|re|py|po|txn|cus|cn|pi|dp|du)_[0-9A-Za-z]{14,}\\b',
];

/**
 * Stripe invoice numbers: an upper-case prefix of 3–12 characters with at least one letter, a dash and
 * a zero-padded sequence (`ABC-0042`), optionally a second sequence (`ABC-0042-0001`). The letter rule
 * keeps dates and phone numbers out.
 */
export const DEFAULT_INVOICE_NUMBER_PATTERNS: readonly string[] = [
  '\\b(?=[0-9A-Z]*[A-Z])[0-9A-Z]{3,12}-\\d{4,}(?:-\\d{4,})?\\b',
];

export interface ReferencePatterns {
  stripeIds: readonly string[];
  invoiceNumbers: readonly string[];
}

export interface ExtractedReferences {
  stripeIds: string[];
  invoiceNumbers: string[];
}

const MAX_PATTERN_LENGTH = 500;

/** Why a configured pattern cannot be used, or null when it is fine. */
export function referencePatternProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `pattern is longer than ${MAX_PATTERN_LENGTH} characters`;
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    return `"${pattern}" is not a valid regular expression (${err instanceof Error ? err.message : String(err)})`;
  }
  // A pattern that matches nothing would find a "reference" at every position of every memo.
  if (re.test('')) return `"${pattern}" matches an empty string; it must match at least one character`;
  return null;
}

function compile(patterns: readonly string[]): RegExp[] {
  return patterns.map((p) => {
    const problem = referencePatternProblem(p);
    if (problem) throw new Error(problem);
    return new RegExp(p, 'g');
  });
}

export class ReferenceExtractor {
  private readonly stripe: RegExp[];
  private readonly invoice: RegExp[];

  constructor(patterns: ReferencePatterns = { stripeIds: DEFAULT_STRIPE_ID_PATTERNS, invoiceNumbers: DEFAULT_INVOICE_NUMBER_PATTERNS }) {
    this.stripe = compile(patterns.stripeIds);
    this.invoice = compile(patterns.invoiceNumbers);
  }

  /** Ids and numbers in the given texts, in order of appearance, each once. */
  extract(...texts: ReadonlyArray<string | null | undefined>): ExtractedReferences {
    const stripeIds: string[] = [];
    const invoiceNumbers: string[] = [];
    for (const text of texts) {
      if (!text) continue;
      collect(this.stripe, text, stripeIds);
      collect(this.invoice, text, invoiceNumbers);
    }
    return { stripeIds, invoiceNumbers };
  }
}

function collect(patterns: readonly RegExp[], text: string, into: string[]): void {
  for (const re of patterns) {
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const value = m[1] ?? m[0];
      if (m[0].length === 0) re.lastIndex++;
      if (value !== '' && !into.includes(value)) into.push(value);
    }
  }
}
