import { type Kysely, sql } from 'kysely';
import { type Actor, type AuditEntry, recordAuditMany } from '../audit/index.js';
import type { Database } from '../db/index.js';
import { OWED_SQL } from './sql.js';

/**
 * An invoice leaves collections the moment it is no longer owed: paid, voided, written off
 * (uncollectible), deleted, or credited down to nothing (amount_remaining 0).
 *
 * Two paths close it: Stripe event processing calls `closeLeftInvoices` with the invoices a batch of
 * events touched (so a webhook ends dunning at once, in the same transaction that stores the
 * invoice's new state), and the collections job calls it for every invoice with dunning history
 * (backfills, imports and the demo write invoices without going through events). Either way the exit
 * is recorded once per invoice (`collection_exits`), audited once, and the invoice's steps that were
 * waiting for a retry (`failed`) or held by a replica that died (`running` past its lease) become
 * `closed`. A step some replica is performing right now is left to it: the engine checks the invoice
 * again right before every side effect.
 *
 * This module imports nothing from the collections engine, so the Stripe side can call it without a
 * dependency cycle.
 */


const SYSTEM: Actor = { kind: 'system', id: 'collections' };

export interface LeftInvoice {
  invoiceId: string;
  customerId: string | null;
  status: string | null;
  closedSteps: string[];
}

/**
 * Record the exit of invoices that were in dunning and are no longer owed. `invoiceIds`: the
 * invoices to look at, or `'all'` (every invoice with dunning history). Returns those that left now.
 */
export async function closeLeftInvoices(
  db: Kysely<Database>,
  invoiceIds: readonly string[] | 'all',
  opts: { at: Date; via: 'webhook' | 'job' | 'demo' | string; actor?: Actor },
): Promise<LeftInvoice[]> {
  if (invoiceIds !== 'all' && invoiceIds.length === 0) return [];
  const scope = invoiceIds === 'all' ? sql`true` : sql`s.invoice_id = any(${[...invoiceIds]}::text[])`;
  const left = await sql<{ invoice_id: string; customer_id: string | null; status: string | null; amount_remaining: bigint | null; currency: string | null }>`
    insert into collection_exits (invoice_id, customer_id, status, amount_remaining, currency, via, left_at)
    select i.id, i.customer_id, case when i.deleted_at is not null then 'deleted' else i.status end, i.amount_remaining, i.currency, ${opts.via}, ${opts.at}
    from stripe_invoices i
    where i.id in (select distinct s.invoice_id from collection_steps s where ${scope})
      and not ${OWED_SQL}
      and not exists (select 1 from collection_exits e where e.invoice_id = i.id)
    order by i.id
    on conflict (invoice_id) do nothing
    returning invoice_id, customer_id, status, amount_remaining, currency`.execute(db);
  if (left.rows.length === 0) return [];
  const ids = left.rows.map((r) => r.invoice_id);
  const closed = await sql<{ invoice_id: string; step_id: string }>`
    update collection_steps s set status = 'closed', reason = 'invoice ' || coalesce(e.status, 'closed'), lease_until = null,
      finished_at = ${opts.at}, updated_at = ${opts.at}
    from collection_exits e
    where e.invoice_id = s.invoice_id and s.invoice_id = any(${ids}::text[])
      and (s.status = 'failed' or (s.status = 'running' and s.lease_until <= ${opts.at}))
    returning s.invoice_id, s.step_id`.execute(db);
  const stepsOf = new Map<string, string[]>();
  for (const c of closed.rows) stepsOf.set(c.invoice_id, [...(stepsOf.get(c.invoice_id) ?? []), c.step_id]);
  const entries: AuditEntry[] = left.rows.map((r) => ({
    actor: opts.actor ?? SYSTEM,
    action: 'collections.invoice_left',
    entity: { type: 'invoice', id: r.invoice_id },
    before: { in_collections: true },
    after: {
      in_collections: false,
      status: r.status,
      amount_remaining: r.amount_remaining?.toString() ?? null,
      currency: r.currency,
      closed_steps: stepsOf.get(r.invoice_id) ?? [],
    },
    source: opts.via,
    context: { customer_id: r.customer_id },
  }));
  await recordAuditMany(db, entries, { now: () => opts.at });
  return left.rows.map((r) => ({ invoiceId: r.invoice_id, customerId: r.customer_id, status: r.status, closedSteps: stepsOf.get(r.invoice_id) ?? [] }));
}
