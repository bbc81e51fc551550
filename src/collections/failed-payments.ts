import { sql } from 'kysely';
import { type Money, money } from '../money/index.js';
import { daysBetween, today } from './days.js';
import { compilePolicy } from './policy.js';
import { LAST_DECLINE_LATERAL, OWED_SQL, pauseKindSql } from './sql.js';
import type { CollectionsDeps, PauseKind, StepStatus } from './types.js';

/**
 * Failed payments for the dunning view: owed invoices Stripe has tried to charge (attempt_count > 0),
 * with the retry state Stripe reports (attempts, next attempt), the last decline (the latest failed
 * charge, found as the account card finds it) and the charges tried for it, plus where dunning stands.
 */

export interface FailedPaymentsQuery {
  customerId?: string | undefined;
  /** Invoices listed (default 50), oldest due first. */
  limit?: number | undefined;
  /** Charges listed per invoice (default 10), newest first. */
  attemptsPerInvoice?: number | undefined;
}

export interface PaymentAttempt {
  chargeId: string;
  at: Date;
  amount: Money;
  /** `failed`, `succeeded`, `pending`. */
  status: string;
  failureCode: string | null;
  failureMessage: string | null;
  /** `visa •••• 4242`, when known. */
  paymentMethod: string | null;
}

export interface FailedPaymentInvoice {
  invoiceId: string;
  number: string | null;
  customerId: string | null;
  customerName: string | null;
  amountRemaining: Money;
  dueOn: string;
  daysPastDue: number;
  attemptCount: number;
  nextPaymentAttempt: Date | null;
  /** Stripe will try again (`retrying`) or has given up (`retries_exhausted`). */
  retryState: 'retrying' | 'retries_exhausted';
  lastDecline: { chargeId: string; code: string | null; message: string | null; at: Date } | null;
  attempts: PaymentAttempt[];
  dunning: { lastStep: { id: string; status: StepStatus; on: string } | null; paused: PauseKind | null };
}

interface Row {
  id: string;
  number: string | null;
  customer_id: string | null;
  name: string | null;
  currency: string;
  amount_remaining: bigint;
  due_on: string;
  attempt_count: number;
  next_payment_attempt: Date | null;
  decline_charge_id: string | null;
  decline_code: string | null;
  decline_message: string | null;
  decline_at: Date | null;
  paused: string | null;
}

export async function failedPayments(deps: CollectionsDeps, q: FailedPaymentsQuery = {}): Promise<FailedPaymentInvoice[]> {
  const policy = compilePolicy(deps.config.file);
  const day = today(policy.timezone, deps.clock.now());
  const customer = q.customerId ? sql`and i.customer_id = ${q.customerId}` : sql``;
  const rows = await sql<Row>`
    select i.id, i.number, i.customer_id, cu.name, i.currency, i.amount_remaining, ${policy.dueOnSql} as due_on, i.attempt_count, i.next_payment_attempt,
      d.id as decline_charge_id, d.failure_code as decline_code, d.failure_message as decline_message, d.created as decline_at,
      ${pauseKindSql(sql`i.customer_id`, day)} as paused
    from stripe_invoices i
    left join stripe_customers cu on cu.id = i.customer_id
    left join ${LAST_DECLINE_LATERAL} d on true
    where ${OWED_SQL} and i.attempt_count > 0 ${customer}
    order by ${policy.dueOnSql}, i.id
    limit ${q.limit ?? 50}`.execute(deps.db);
  if (rows.rows.length === 0) return [];
  const ids = rows.rows.map((r) => r.id);
  const [charges, steps] = await Promise.all([
    sql<{ invoice_id: string; id: string; created: Date; amount: bigint; currency: string; status: string; failure_code: string | null; failure_message: string | null; payment_method_type: string | null; card_brand: string | null; card_last4: string | null }>`
      select x.invoice_id, c.id, c.created, c.amount, c.currency, c.status, c.failure_code, c.failure_message, c.payment_method_type, c.card_brand, c.card_last4
      from unnest(${ids}::text[]) as x (invoice_id)
      join stripe_invoices i on i.id = x.invoice_id
      join lateral (
        select c.* from stripe_charges c
        where c.customer_id = i.customer_id
          and (c.invoice_id = i.id or c.payment_intent_id in (select p.payment_intent_id from stripe_invoice_payments p where p.invoice_id = i.id))
        order by c.created desc, c.id desc
        limit ${q.attemptsPerInvoice ?? 10}) c on true
      order by x.invoice_id, c.created desc, c.id desc`.execute(deps.db),
    sql<{ invoice_id: string; step_id: string; status: string; claimed_on: string }>`
      select distinct on (invoice_id) invoice_id, step_id, status, claimed_on from collection_steps
      where invoice_id = any(${ids}::text[]) and status in ('done', 'failed', 'running')
      order by invoice_id, step_day desc`.execute(deps.db),
  ]);
  const attemptsOf = new Map<string, PaymentAttempt[]>();
  for (const c of charges.rows) {
    const list = attemptsOf.get(c.invoice_id) ?? [];
    list.push({
      chargeId: c.id,
      at: c.created,
      amount: money(c.amount, c.currency),
      status: c.status,
      failureCode: c.failure_code,
      failureMessage: c.failure_message,
      paymentMethod: c.card_brand && c.card_last4 ? `${c.card_brand} •••• ${c.card_last4}` : c.payment_method_type,
    });
    attemptsOf.set(c.invoice_id, list);
  }
  const stepOf = new Map(steps.rows.map((s) => [s.invoice_id, s]));
  return rows.rows.map((r) => {
    const s = stepOf.get(r.id);
    return {
      invoiceId: r.id,
      number: r.number,
      customerId: r.customer_id,
      customerName: r.name,
      amountRemaining: money(r.amount_remaining, r.currency),
      dueOn: r.due_on,
      daysPastDue: daysBetween(r.due_on, day),
      attemptCount: r.attempt_count,
      nextPaymentAttempt: r.next_payment_attempt,
      retryState: r.next_payment_attempt ? 'retrying' : 'retries_exhausted',
      lastDecline: r.decline_charge_id && r.decline_at ? { chargeId: r.decline_charge_id, code: r.decline_code, message: r.decline_message, at: r.decline_at } : null,
      attempts: attemptsOf.get(r.id) ?? [],
      dunning: { lastStep: s ? { id: s.step_id, status: s.status as StepStatus, on: s.claimed_on } : null, paused: (r.paused as PauseKind | null) ?? null },
    };
  });
}
