import { hash } from 'node:crypto';
import type { ReferenceExtractor } from './references.js';
import type { GlEntryDraft, GlEntryFields, GlSourceSystem } from './types.js';

/**
 * How many times each content hash has been seen in this file, in 12 bytes a row: an open-addressing
 * table of the first 64 bits of the sha256 plus a count. A Map of hex strings would cost ~10× that
 * on a million-row file.
 */
export class OccurrenceCounter {
  private capacity = 1 << 12;
  private size = 0;
  private hi = new Uint32Array(this.capacity);
  private lo = new Uint32Array(this.capacity);
  private counts = new Uint32Array(this.capacity);

  /** 0 the first time a (hi, lo) pair is seen, 1 the second time, … */
  next(hi: number, lo: number): number {
    // (0, 0) marks an empty slot, so fold that one key onto (0, 1); a collision costs one ordinal.
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const slot = this.find(hi, lo);
    const seen = this.counts[slot] ?? 0;
    if (seen === 0) {
      this.hi[slot] = hi;
      this.lo[slot] = lo;
      this.size++;
    }
    this.counts[slot] = seen + 1;
    return seen;
  }

  private find(hi: number, lo: number): number {
    const mask = this.capacity - 1;
    let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const h = this.hi[slot] ?? 0;
      const l = this.lo[slot] ?? 0;
      if ((h === 0 && l === 0) || (h === hi && l === lo)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const { hi, lo, counts } = this;
    this.capacity *= 2;
    this.hi = new Uint32Array(this.capacity);
    this.lo = new Uint32Array(this.capacity);
    this.counts = new Uint32Array(this.capacity);
    for (let i = 0; i < hi.length; i++) {
      const h = hi[i] ?? 0;
      const l = lo[i] ?? 0;
      if (h === 0 && l === 0) continue;
      const slot = this.find(h, l);
      this.hi[slot] = h;
      this.lo[slot] = l;
      this.counts[slot] = counts[i] ?? 0;
    }
  }
}

/**
 * Two independent 32-bit FNV-1a-style hashes of the content, for counting occurrences only (the key
 * itself is sha256). 64 bits: a false match among a million rows has odds of about 1 in 36 million, and
 * would cost one row its ordinal, not its key's uniqueness.
 */
export function fingerprint(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, (b ^ (a >>> 13)) >>> 0];
}

/** Line endings inside quoted memos differ between CRLF and LF copies of the same export. */
const CR = /\r\n?/g;

/** Empty cell → null; trimmed otherwise. */
export function textOrNull(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const t = raw.trim();
  if (t === '') return null;
  return t.includes('\r') ? t.replace(CR, '\n') : t;
}

/**
 * Turns parsed fields into drafts: extracts references and derives the line key. One factory per file,
 * because the occurrence ordinal counts identical content within a file.
 */
export class EntryFactory {
  private readonly seen = new OccurrenceCounter();

  constructor(
    readonly source: GlSourceSystem,
    private readonly references: ReferenceExtractor,
  ) {}

  build(f: GlEntryFields, lineNumber: number): GlEntryDraft {
    // Only the posting's own content goes in: not the line number (an overlapping export starts
    // elsewhere), not running balances (they depend on the report's start date).
    const content =
      `${this.source}\x1f${f.date}\x1f${f.account}\x1f${f.amountMinor}\x1f${f.currency}\x1f${f.reference ?? ''}` +
      `\x1f${f.memo ?? ''}\x1f${f.customerName ?? ''}\x1f${f.externalId ?? ''}\x1f${f.transactionType ?? ''}` +
      `\x1f${f.accountingPeriod ?? ''}`;
    const ordinal = this.seen.next(...fingerprint(content));
    const lineKey = hash('sha256', `${content}\x1f${ordinal}`, 'hex');
    const refs = this.references.extract(f.reference, f.memo);
    return {
      kind: 'entry',
      sourceSystem: this.source,
      lineNumber,
      lineKey,
      date: f.date,
      account: f.account,
      amountMinor: f.amountMinor,
      currency: f.currency,
      reference: f.reference,
      memo: f.memo,
      customerName: f.customerName,
      externalId: f.externalId,
      transactionType: f.transactionType,
      accountingPeriod: f.accountingPeriod,
      stripeIds: refs.stripeIds,
      invoiceNumbers: refs.invoiceNumbers,
    };
  }
}
