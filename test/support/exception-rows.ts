import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/index.js';

/** An exception row as a test wants it, without running a reconciliation first. */
export interface ExceptionRowInput {
  kind?: string;
  status?: 'open' | 'assigned' | 'snoozed' | 'resolved' | 'auto_resolved' | 'reopened';
  severity?: 'low' | 'medium' | 'high' | 'critical';
  amount: bigint;
  currency?: string;
  customerName?: string | null;
  assignee?: string | null;
  snoozedUntil?: Date | string | null;
  resolvedAt?: Date | string | null;
  openedAt: Date | string;
  summary?: string;
  stripeId?: string | null;
}

let seq = 0;

/** Inserts exceptions straight into the table; returns their ids in order. */
export async function insertExceptions(db: Kysely<Database>, rows: readonly ExceptionRowInput[]): Promise<bigint[]> {
  if (rows.length === 0) return [];
  const values = rows.map((r) => {
    seq += 1;
    const status = r.status ?? 'open';
    const resolved = status === 'resolved' || status === 'auto_resolved';
    const openedAt = new Date(r.openedAt);
    return sql`(${`test:${process.pid}:${seq}`}, ${r.kind ?? 'missing_in_gl'}, ${status}, ${r.severity ?? 'medium'}, ${r.amount}::bigint,
      ${r.currency ?? 'USD'}, ${r.customerName ?? null}, ${r.stripeId ?? null}, ${r.summary ?? 'Stripe has it, the GL does not'},
      ${r.assignee ?? null}, ${r.snoozedUntil ? new Date(r.snoozedUntil) : null}::timestamptz,
      ${resolved ? new Date(r.resolvedAt ?? openedAt) : null}::timestamptz, ${resolved ? (status === 'resolved' ? 'U0RESOLVER' : 'billops') : null},
      ${status === 'resolved' ? 'not_an_issue' : null}, ${openedAt}::timestamptz, ${openedAt}::timestamptz)`;
  });
  const res = await sql<{ id: bigint }>`
    insert into exceptions (dedupe_key, kind, status, severity, amount, currency, customer_name, stripe_id, summary, assignee,
      snoozed_until, resolved_at, resolved_by, resolution_code, opened_at, updated_at)
    values ${sql.join(values)} returning id`.execute(db);
  return res.rows.map((r) => r.id);
}

/**
 * `n` open exceptions spread over every kind, currency mix and size, set-based (for limit tests):
 * ids in order, amounts 1.00 … 99,999.99, opened over the `days` before `now`.
 */
export async function insertManyExceptions(db: Kysely<Database>, n: number, now: Date, days = 30): Promise<void> {
  await sql`
    insert into exceptions (dedupe_key, kind, status, severity, amount, currency, customer_id, customer_name, stripe_id, summary, assignee,
      opened_at, updated_at)
    select 'bulk:' || i,
      (array['missing_in_gl','missing_in_billing','amount_mismatch','void_not_reflected','duplicate_in_gl',
             'fx_variance_over_tolerance','failed_payment','dispute_open'])[1 + i % 8],
      case when i % 5 = 0 then 'assigned' else 'open' end,
      (array['low','medium','high','critical'])[1 + (i / 8) % 4],
      (100 + (i::bigint * 7919) % 9999900) * (case when i % 7 = 0 then -1 else 1 end),
      case when i % 10 = 3 then 'EUR' when i % 10 = 7 then 'JPY' else 'USD' end,
      'cus_bulk' || (i % 500), 'Customer <' || (i % 500) || '> & Sons ' || repeat('x', i % 40),
      'ch_bulk' || i, 'Stripe has it, the GL does not',
      case when i % 5 = 0 then 'U0BULK' || lpad((i % 50)::text, 3, '0') end,
      ${now}::timestamptz - make_interval(secs => (i % (${days} * 24)) * 3600 + 60),
      ${now}::timestamptz
    from generate_series(1, ${n}) as i`.execute(db);
}
