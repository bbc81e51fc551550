import { hash } from 'node:crypto';
import type { ReferenceExtractor } from './references.js';
import type { GlEntryDraft, GlEntryFields, GlSourceSystem } from './types.js';

/**
 * How many times each content hash has been seen in this file, in 12 bytes a row: an open-addressing
 * table of the first 64 bits of the content's sha256 plus a count, interleaved so a probe touches one
 * cache line. A Map of hex strings would cost ~10× that on a million-row file.
 */
export class OccurrenceCounter {
  private capacity = 1 << 12;
  private size = 0;
  /** [hi, lo, count] per slot; (0, 0) marks an empty slot. */
  private slots = new Uint32Array(this.capacity * 3);

  /** 0 the first time a (hi, lo) pair is seen, 1 the second time, … */
  next(hi: number, lo: number): number {
    // (0, 0) marks an empty slot, so fold that one key onto (0, 1); a collision costs one ordinal.
    if (hi === 0 && lo === 0) lo = 1;
    if ((this.size + 1) * 2 > this.capacity) this.grow();
    const at = this.find(this.slots, this.capacity, hi, lo);
    const slots = this.slots;
    const seen = slots[at + 2] ?? 0;
    if (seen === 0) {
      slots[at] = hi;
      slots[at + 1] = lo;
      this.size++;
    }
    slots[at + 2] = seen + 1;
    return seen;
  }

  /** Index of the slot holding (hi, lo), or of the empty slot where it goes. */
  private find(slots: Uint32Array, capacity: number, hi: number, lo: number): number {
    const mask = capacity - 1;
    let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const at = slot * 3;
      const h = slots[at] ?? 0;
      const l = slots[at + 1] ?? 0;
      if ((h === 0 && l === 0) || (h === hi && l === lo)) return at;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.capacity *= 2;
    const slots = new Uint32Array(this.capacity * 3);
    for (let at = 0; at < old.length; at += 3) {
      const h = old[at] ?? 0;
      const l = old[at + 1] ?? 0;
      if (h === 0 && l === 0) continue;
      const to = this.find(slots, this.capacity, h, l);
      slots[to] = h;
      slots[to + 1] = l;
      slots[to + 2] = old[at + 2] ?? 0;
    }
    this.slots = slots;
  }
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
    // One hash per row in the common case: the content's own sha256 is the first occurrence's key and
    // its first 64 bits count occurrences (a false match among a million rows has odds of about 1 in
    // 36 million, and would cost one row its ordinal, not its key's uniqueness). A repeat's key hashes
    // the content with its ordinal.
    const digest = hash('sha256', content, 'hex');
    const ordinal = this.seen.next(Number.parseInt(digest.slice(0, 8), 16), Number.parseInt(digest.slice(8, 16), 16));
    const lineKey = ordinal === 0 ? digest : hash('sha256', `${content}\x1e${ordinal}`, 'hex');
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
