import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/index.js';
// A leaf module of collections (no import back into stripe/): a paid or voided invoice leaves dunning in this transaction.
import { closeLeftInvoices } from '../collections/exit.js';
import { parseObject } from './normalize/common.js';
import { type NormalizeStats, type VersionedObject, isNormalizedObject, normalizeObjects } from './normalize/index.js';

/** The envelope fields billops relies on; `data.object` is checked by its normalizer. */
export const eventEnvelopeSchema = z.looseObject({
  id: z.string().min(1),
  object: z.literal('event'),
  type: z.string().min(1),
  created: z.number().int(),
  livemode: z.boolean(),
  api_version: z.string().nullable().optional(),
  data: z.looseObject({ object: z.looseObject({ object: z.string() }) }),
});
export type StripeEventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/**
 * Event families billops normalizes. Within them, the event's `data.object` decides the table
 * (`charge.refund.updated` carries a refund, `charge.dispute.*` a dispute); an object billops keeps
 * no table for (a discount, a card, a tax id) makes the event "ignored".
 */
export const HANDLED_EVENT_PREFIXES = [
  'customer.',
  'invoice.',
  'invoice_payment.',
  'charge.',
  'refund.',
  'credit_note.',
  'payout.',
] as const;

export interface EventOutcome {
  status: 'processed' | 'ignored';
  /** Why an event was ignored, or what it did to its object's row. */
  note: string | null;
}

export interface EventsOutcome {
  /** One per payload, in order. */
  events: EventOutcome[];
  stats: NormalizeStats;
}

/**
 * Apply Stripe events to the normalized tables, set-based: one upsert per table for the whole
 * batch. The webhook queue worker and the demo call this; run it inside the transaction that marks
 * the events processed, so both commit together. Applying an event twice, or an older event after a
 * newer one (in the same batch or not), leaves the tables as they were — see normalize/upsert.ts.
 * Throws if any event or object is malformed; the caller then retries the events one by one.
 */
export async function processStripeEvents(db: Kysely<Database>, payloads: readonly unknown[], syncedAt: Date): Promise<EventsOutcome> {
  const outcomes: EventOutcome[] = [];
  const items: VersionedObject[] = [];
  const itemOf: Array<{ item: number; objectType: string; objectId: string } | null> = [];
  const overdue: Array<{ id: string; at: Date }> = [];
  const invoices = new Set<string>();
  for (const payload of payloads) {
    const event = parseObject(eventEnvelopeSchema, 'event', payload);
    const object: Record<string, unknown> = event.data.object;
    const objectType = object.object as string;
    const objectId = object.id;
    let ignored: string | null = null;
    if (!HANDLED_EVENT_PREFIXES.some((p) => event.type.startsWith(p))) ignored = `billops does not use ${event.type} events`;
    else if (!isNormalizedObject(objectType)) ignored = `${event.type} carries a ${objectType}, which billops keeps no table for`;
    // invoice.upcoming describes an invoice that does not exist yet.
    else if (typeof objectId !== 'string') ignored = `${event.type} carries a ${objectType} without an id`;
    if (ignored !== null || typeof objectId !== 'string') {
      outcomes.push({ status: 'ignored', note: ignored });
      itemOf.push(null);
      continue;
    }
    const at = new Date(event.created * 1000);
    // Stripe sends a deleted customer or draft invoice as it was; mark it so the row records the deletion.
    const deleted = event.type === 'customer.deleted' || event.type === 'invoice.deleted';
    items.push({ object: deleted ? { ...object, deleted: true } : object, version: { at, eventId: event.id } });
    itemOf.push({ item: items.length - 1, objectType, objectId });
    outcomes.push({ status: 'processed', note: null });
    if (event.type === 'invoice.overdue') overdue.push({ id: objectId, at });
    if (objectType === 'invoice') invoices.add(objectId);
  }

  const result = items.length ? await normalizeObjects(db, items, syncedAt) : null;
  for (const [i, ref] of itemOf.entries()) {
    if (!ref || !result) continue;
    const outcome = result.items[ref.item];
    (outcomes[i] as EventOutcome).note = `${ref.objectType} ${ref.objectId}: ${outcome === 'superseded' ? 'superseded by a newer event in the same batch' : outcome}`;
  }
  // Overdue is news about the invoice, not a field of it: keep the first notice whatever the order.
  for (const o of overdue) {
    await sql`
      update stripe_invoices set overdue_at = ${o.at}, changed_at = ${syncedAt}
      where id = ${o.id} and (overdue_at is null or overdue_at > ${o.at})`.execute(db);
  }
  // Invoices now paid, voided, written off or credited to zero leave collections at once (checked against the stored row).
  if (invoices.size) await closeLeftInvoices(db, [...invoices], { at: syncedAt, via: 'webhook' });
  return { events: outcomes, stats: result?.stats ?? {} };
}

/** One event (see processStripeEvents). */
export async function processStripeEvent(db: Kysely<Database>, payload: unknown, syncedAt: Date): Promise<EventOutcome & { stats: NormalizeStats }> {
  const res = await processStripeEvents(db, [payload], syncedAt);
  return { ...(res.events[0] as EventOutcome), stats: res.stats };
}
