import type { Kysely } from 'kysely';
import type { Database } from '../../db/index.js';
import type { NormalizedObjectType, NormalizedTable } from '../tables.js';
import { balanceTransactionNormalizer } from './balance-transaction.js';
import { chargeNormalizer } from './charge.js';
import { type Normalizer, type ObjectVersion, type Row, jsonText, parseObject } from './common.js';
import { creditNoteNormalizer } from './credit-note.js';
import { customerNormalizer } from './customer.js';
import { disputeNormalizer } from './dispute.js';
import { invoicePaymentNormalizer } from './invoice-payment.js';
import { invoiceNormalizer } from './invoice.js';
import { payoutNormalizer } from './payout.js';
import { refundNormalizer } from './refund.js';
import { subscriptionNormalizer } from './subscription.js';
import { type WriteOutcome, newestPerId, upsertVersioned } from './upsert.js';

export { type ObjectVersion, StripeObjectError, decimalText } from './common.js';
export { type WriteOutcome } from './upsert.js';

// Each entry normalizes its own object type; the map is only ever indexed by that type.
const NORMALIZERS: Record<NormalizedObjectType, Normalizer<any>> = {
  customer: customerNormalizer,
  subscription: subscriptionNormalizer,
  invoice: invoiceNormalizer,
  invoice_payment: invoicePaymentNormalizer,
  charge: chargeNormalizer,
  refund: refundNormalizer,
  dispute: disputeNormalizer,
  credit_note: creditNoteNormalizer,
  balance_transaction: balanceTransactionNormalizer,
  payout: payoutNormalizer,
};

export function isNormalizedObject(objectType: unknown): objectType is NormalizedObjectType {
  return typeof objectType === 'string' && Object.hasOwn(NORMALIZERS, objectType);
}

const YIELD_EVERY = 8;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One Stripe object and the version of its state. */
export interface VersionedObject {
  object: unknown;
  version: ObjectVersion;
}

/** Counts per table of what the upserts did. */
export type NormalizeStats = Partial<Record<NormalizedTable, Record<WriteOutcome, number>>>;

/** An item whose object was offered to its table, or was not: skipped (no table), superseded (a newer version of it was in the same call). */
export type ItemOutcome = WriteOutcome | 'superseded' | 'skipped';

export interface NormalizeResult {
  stats: NormalizeStats;
  /** Per object id (within its table): the outcome of the version offered. */
  outcomes: Map<string, WriteOutcome>;
  /** Per item, in the order given. */
  items: ItemOutcome[];
  /** Objects of types billops keeps no table for (e.g. an expanded transfer). */
  skipped: number;
}

/**
 * Write Stripe objects into their normalized tables, newest state winning (see upsert.ts). This is
 * the one path for every source: webhook events (through processStripeEvents), the backfill's API
 * reads and the demo. Run it inside the transaction that must commit with it.
 */
export async function normalizeObjects(db: Kysely<Database>, items: readonly VersionedObject[], syncedAt: Date): Promise<NormalizeResult> {
  const groups = new Map<NormalizedObjectType, Array<{ parsed: { id: string }; row: Row; index: number }>>();
  const itemOutcomes: ItemOutcome[] = items.map(() => 'skipped');
  let skipped = 0;
  for (const [index, { object, version }] of items.entries()) {
    // Validating and serializing a page of objects is CPU work: let the HTTP intake in between.
    if (index > 0 && index % YIELD_EVERY === 0) await yieldToEventLoop();
    const type = (object as { object?: unknown } | null)?.object;
    if (!isNormalizedObject(type)) {
      skipped++;
      continue;
    }
    const n = NORMALIZERS[type];
    const parsed = parseObject(n.schema, type, object) as { id: string };
    const row: Row = {
      ...n.columns(parsed, version),
      raw: jsonText(n.rawOf ? n.rawOf(parsed) : object),
      version_at: version.at,
      version_rank: n.rank(parsed),
      version_event_id: version.eventId,
      synced_at: syncedAt,
      changed_at: syncedAt,
    };
    const list = groups.get(type) ?? [];
    list.push({ parsed, row, index });
    groups.set(type, list);
  }

  const stats: NormalizeStats = {};
  const outcomes = new Map<string, WriteOutcome>();
  // Tables in one fixed order and rows by id: concurrent batches lock rows in the same order, so
  // two workers sharing objects wait for each other instead of deadlocking.
  for (const type of Object.keys(NORMALIZERS) as NormalizedObjectType[]) {
    const list = groups.get(type);
    if (!list) continue;
    const n = NORMALIZERS[type];
    const rows = newestPerId(list.map((x) => x.row)).sort((a, b) => ((a.id as string) < (b.id as string) ? -1 : (a.id as string) > (b.id as string) ? 1 : 0));
    const result = await upsertVersioned(db, n.table, rows);
    const counts = { inserted: 0, changed: 0, refreshed: 0, stale: 0 };
    for (const [id, o] of result) {
      counts[o]++;
      outcomes.set(id, o);
    }
    stats[n.table] = counts;
    const kept = new Set(rows);
    for (const x of list) itemOutcomes[x.index] = kept.has(x.row) ? (result.get(x.parsed.id) ?? 'stale') : 'superseded';
    if (n.afterWrite) {
      const written = list.filter((x) => kept.has(x.row) && result.get(x.parsed.id) !== 'stale').map((x) => x.parsed);
      if (written.length) await n.afterWrite(db, written);
    }
  }
  return { stats, outcomes, items: itemOutcomes, skipped };
}

/** Add one NormalizeStats into another (for run totals). */
export function addStats(into: NormalizeStats, more: NormalizeStats): NormalizeStats {
  for (const [table, counts] of Object.entries(more) as Array<[NormalizedTable, Record<WriteOutcome, number>]>) {
    const acc = into[table] ?? { inserted: 0, changed: 0, refreshed: 0, stale: 0 };
    for (const k of Object.keys(counts) as WriteOutcome[]) acc[k] += counts[k];
    into[table] = acc;
  }
  return into;
}
