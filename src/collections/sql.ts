import { type RawBuilder, sql } from 'kysely';

/** SQL fragments every collections query shares, so "owed", "paused" and "last decline" mean one thing. */

/** Stripe's dispute states that are still open (needs response / under review). */
export const OPEN_DISPUTE_STATUSES: readonly string[] = ['warning_needs_response', 'warning_under_review', 'needs_response', 'under_review'];

/** Owed: still open with something left to pay, over `i` (stripe_invoices). */
export const OWED_SQL = sql<boolean>`(i.status = 'open' and i.amount_remaining > 0 and i.deleted_at is null)`;

/** A promise-to-pay pause in force on `day` for the customer in `customerCol`. */
export function promisePausedSql(customerCol: RawBuilder<unknown>, day: string): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from collection_pauses p where p.customer_id = ${customerCol} and p.cleared_at is null and p.until_day >= ${day}::date)`;
}

/** An open dispute on any of the customer's charges. */
export function disputePausedSql(customerCol: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from stripe_charges ch join stripe_disputes d on d.charge_id = ch.id
    where ch.customer_id = ${customerCol} and d.status in (${sql.join(OPEN_DISPUTE_STATUSES)}))`;
}

/** `'promise_to_pay'`, `'dispute'` or null for the customer in `customerCol` on `day`. */
export function pauseKindSql(customerCol: RawBuilder<unknown>, day: string): RawBuilder<string | null> {
  return sql<string | null>`(case when ${promisePausedSql(customerCol, day)} then 'promise_to_pay' when ${disputePausedSql(customerCol)} then 'dispute' end)`;
}

/**
 * The latest failed charge for invoice `i` (as the account card finds it: on the charge before API
 * 2025-03-31, else through the invoice's payments), as a lateral subquery with columns
 * id, failure_code, failure_message, created.
 */
export const LAST_DECLINE_LATERAL = sql`lateral (
  select c.id, c.failure_code, c.failure_message, c.created from stripe_charges c
  where c.customer_id = i.customer_id and c.status = 'failed'
    and (c.invoice_id = i.id or c.payment_intent_id in (select p.payment_intent_id from stripe_invoice_payments p where p.invoice_id = i.id))
  order by c.created desc, c.id desc limit 1)`;
