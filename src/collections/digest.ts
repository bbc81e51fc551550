import { sql } from 'kysely';
import { type Money, money } from '../money/index.js';
import { type AgingReport, agingReport } from './aging.js';
import { addDays, daysBetween, today } from './days.js';
import { compilePolicy } from './policy.js';
import { OPEN_DISPUTE_STATUSES, OWED_SQL } from './sql.js';
import type { CollectionsDeps, PauseKind, StepEffect, StepKind, StepStatus } from './types.js';

/**
 * What the dunning digest shows, as plain data (the Slack side renders it; `describeDigest` prints
 * it): the steps invoices entered today, grouped by segment and step in policy order; steps failing
 * and waiting for a retry; invoices that left collections today; accounts on hold; the invoices in
 * escalation or formal collections; and AR aging with the top overdue accounts.
 */

export interface DigestStepItem {
  invoiceId: string;
  number: string | null;
  customerId: string | null;
  customerName: string | null;
  amountRemaining: Money;
  daysPastDue: number;
  status: StepStatus;
  effectsDone: StepEffect[];
  error: string | null;
  attempts: number;
}

export interface DigestStepGroup {
  segment: string;
  step: { id: string; label: string; kind: StepKind; day: number };
  /** How many invoices entered the step today (items may be fewer: `itemsPerGroup`). */
  count: number;
  amounts: Money[];
  items: DigestStepItem[];
}

export interface DigestEscalation {
  invoiceId: string;
  number: string | null;
  customerId: string | null;
  customerName: string | null;
  amountRemaining: Money;
  daysPastDue: number;
  step: { id: string; label: string; kind: StepKind };
  /** The day it entered that step. */
  since: string;
  /** The account owner from customer metadata (`collections.owner_metadata_key`), if any. */
  owner: string | null;
}

export interface DigestPausedAccount {
  customerId: string;
  customerName: string | null;
  kind: PauseKind;
  /** Promise to pay: last paused day; dunning resumes the day after. */
  until: string | null;
  resumesOn: string | null;
  invoices: number;
  amounts: Money[];
}

export interface CollectionsDigest {
  day: string;
  timezone: string;
  stepsToday: DigestStepGroup[];
  /** Earlier steps passed over today by the catch-up rule. */
  skippedToday: number;
  /** Steps whose side effect failed and that wait for a retry on the next run. */
  failing: Array<DigestStepItem & { step: { id: string; label: string }; segment: string }>;
  leftToday: Array<{ invoiceId: string; number: string | null; customerName: string | null; status: string | null; via: string }>;
  paused: DigestPausedAccount[];
  escalations: DigestEscalation[];
  aging: AgingReport;
}

function sumBy(rows: Array<{ currency: string; amount: bigint }>): Money[] {
  const m = new Map<string, bigint>();
  for (const r of rows) m.set(r.currency, (m.get(r.currency) ?? 0n) + r.amount);
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, a]) => money(a, c));
}

export async function collectionsDigest(deps: CollectionsDeps, opts: { itemsPerGroup?: number; top?: number; escalations?: number } = {}): Promise<CollectionsDigest> {
  const policy = compilePolicy(deps.config.file);
  const day = today(policy.timezone, deps.clock.now());
  const perGroup = opts.itemsPerGroup ?? 25;
  const ownerKey = policy.ownerMetadataKey;

  type StepRow = {
    invoice_id: string;
    step_id: string;
    segment: string;
    step_kind: string;
    step_day: number;
    status: string;
    effects_done: string[];
    last_error: string | null;
    attempts: number;
    due_on: string;
    number: string | null;
    customer_id: string | null;
    name: string | null;
    currency: string;
    amount_remaining: bigint;
  };
  const [today_, failing, left, skipped, promises, disputes, escalated, aging] = await Promise.all([
    sql<StepRow>`
      select s.invoice_id, s.step_id, s.segment, s.step_kind, s.step_day, s.status, s.effects_done, s.last_error, s.attempts, s.due_on,
        i.number, i.customer_id, c.name, i.currency, i.amount_remaining
      from collection_steps s
      join stripe_invoices i on i.id = s.invoice_id
      left join stripe_customers c on c.id = i.customer_id
      where s.claimed_on = ${day}::date and s.status <> 'skipped'
      order by s.due_on, s.invoice_id`.execute(deps.db),
    sql<StepRow>`
      select s.invoice_id, s.step_id, s.segment, s.step_kind, s.step_day, s.status, s.effects_done, s.last_error, s.attempts, s.due_on,
        i.number, i.customer_id, c.name, i.currency, i.amount_remaining
      from collection_steps s
      join stripe_invoices i on i.id = s.invoice_id
      left join stripe_customers c on c.id = i.customer_id
      where s.status = 'failed'
      order by s.updated_at, s.invoice_id
      limit 50`.execute(deps.db),
    sql<{ invoice_id: string; number: string | null; name: string | null; status: string | null; via: string }>`
      select e.invoice_id, i.number, c.name, e.status, e.via
      from collection_exits e
      left join stripe_invoices i on i.id = e.invoice_id
      left join stripe_customers c on c.id = e.customer_id
      where (e.left_at at time zone ${policy.timezone})::date = ${day}::date
      order by e.left_at, e.invoice_id`.execute(deps.db),
    sql<{ n: string }>`select count(*)::text as n from collection_steps where claimed_on = ${day}::date and status = 'skipped'`.execute(deps.db),
    sql<{ customer_id: string; name: string | null; until_day: string; currency: string | null; n: string; amount: bigint | null }>`
      select p.customer_id, c.name, p.until_day, i.currency, count(i.id)::text as n, sum(i.amount_remaining)::int8 as amount
      from collection_pauses p
      left join stripe_customers c on c.id = p.customer_id
      left join stripe_invoices i on i.customer_id = p.customer_id and ${OWED_SQL}
      where p.cleared_at is null and p.until_day >= ${day}::date
      group by p.customer_id, c.name, p.until_day, i.currency
      order by p.until_day, p.customer_id`.execute(deps.db),
    sql<{ customer_id: string; name: string | null; currency: string; n: string; amount: bigint }>`
      select i.customer_id, c.name, i.currency, count(*)::text as n, sum(i.amount_remaining)::int8 as amount
      from stripe_invoices i
      left join stripe_customers c on c.id = i.customer_id
      where ${OWED_SQL} and exists (select 1 from stripe_charges ch join stripe_disputes d on d.charge_id = ch.id
        where ch.customer_id = i.customer_id and d.status in (${sql.join(OPEN_DISPUTE_STATUSES)}))
      group by i.customer_id, c.name, i.currency
      order by i.customer_id, i.currency`.execute(deps.db),
    sql<{ invoice_id: string; step_id: string; segment: string; step_kind: string; claimed_on: string; due_on: string; number: string | null; customer_id: string | null; name: string | null; owner: string | null; currency: string; amount_remaining: bigint }>`
      select * from (
        select distinct on (s.invoice_id) s.invoice_id, s.step_id, s.segment, s.step_kind, s.claimed_on, s.due_on, i.number, i.customer_id, c.name,
          c.metadata ->> ${ownerKey} as owner, i.currency, i.amount_remaining
        from collection_steps s
        join stripe_invoices i on i.id = s.invoice_id
        left join stripe_customers c on c.id = i.customer_id
        where s.status = 'done' and ${OWED_SQL}
        order by s.invoice_id, s.step_day desc
      ) x
      where x.step_kind in ('escalation', 'formal')
      order by x.due_on, x.invoice_id
      limit ${opts.escalations ?? 25}`.execute(deps.db),
    agingReport(deps, { top: opts.top ?? 5 }),
  ]);

  const item = (r: StepRow): DigestStepItem => ({
    invoiceId: r.invoice_id,
    number: r.number,
    customerId: r.customer_id,
    customerName: r.name,
    amountRemaining: money(r.amount_remaining, r.currency),
    daysPastDue: daysBetween(r.due_on, day),
    status: r.status as StepStatus,
    effectsDone: r.effects_done as StepEffect[],
    error: r.last_error,
    attempts: r.attempts,
  });
  // Groups in policy order (segment by segment, step by step), then anything the policy no longer lists.
  const order = new Map<string, number>();
  policy.segments.forEach((s, si) => s.steps.forEach((st, i) => order.set(`${s.name}\u0000${st.id}`, si * 1000 + i)));
  const groups = new Map<string, { rows: StepRow[] }>();
  for (const r of today_.rows) {
    const k = `${r.segment}\u0000${r.step_id}`;
    const g = groups.get(k) ?? { rows: [] };
    g.rows.push(r);
    groups.set(k, g);
  }
  const stepsToday: DigestStepGroup[] = [...groups.entries()]
    .sort(([a], [b]) => (order.get(a) ?? 1e9) - (order.get(b) ?? 1e9) || (a < b ? -1 : 1))
    .map(([, g]) => {
      const first = g.rows[0] as StepRow;
      const step = policy.step(first.segment, first.step_id);
      return {
        segment: first.segment,
        step: { id: first.step_id, label: step?.label ?? first.step_id, kind: first.step_kind as StepKind, day: first.step_day },
        count: g.rows.length,
        amounts: sumBy(g.rows.map((r) => ({ currency: r.currency, amount: r.amount_remaining }))),
        items: g.rows.slice(0, perGroup).map(item),
      };
    });

  const paused = new Map<string, DigestPausedAccount & { rows: Array<{ currency: string; amount: bigint }> }>();
  for (const p of promises.rows) {
    const k = `promise_to_pay\u0000${p.customer_id}`;
    const acc = paused.get(k) ?? { customerId: p.customer_id, customerName: p.name, kind: 'promise_to_pay', until: p.until_day, resumesOn: addDays(p.until_day, 1), invoices: 0, amounts: [], rows: [] };
    if (p.currency && p.amount !== null) {
      acc.invoices += Number(p.n);
      acc.rows.push({ currency: p.currency, amount: p.amount });
    }
    paused.set(k, acc);
  }
  for (const d of disputes.rows) {
    const k = `dispute\u0000${d.customer_id}`;
    const acc = paused.get(k) ?? { customerId: d.customer_id, customerName: d.name, kind: 'dispute', until: null, resumesOn: null, invoices: 0, amounts: [], rows: [] };
    acc.invoices += Number(d.n);
    acc.rows.push({ currency: d.currency, amount: d.amount });
    paused.set(k, acc);
  }

  return {
    day,
    timezone: policy.timezone,
    stepsToday,
    skippedToday: Number(skipped.rows[0]?.n ?? 0),
    failing: failing.rows.map((r) => ({
      ...item(r),
      segment: r.segment,
      step: { id: r.step_id, label: policy.step(r.segment, r.step_id)?.label ?? r.step_id },
    })),
    leftToday: left.rows.map((r) => ({ invoiceId: r.invoice_id, number: r.number, customerName: r.name, status: r.status, via: r.via })),
    paused: [...paused.values()].map(({ rows, ...acc }) => ({ ...acc, amounts: sumBy(rows) })),
    escalations: escalated.rows.map((r) => ({
      invoiceId: r.invoice_id,
      number: r.number,
      customerId: r.customer_id,
      customerName: r.name,
      amountRemaining: money(r.amount_remaining, r.currency),
      daysPastDue: daysBetween(r.due_on, day),
      step: { id: r.step_id, label: policy.step(r.segment, r.step_id)?.label ?? r.step_id, kind: r.step_kind as StepKind },
      since: r.claimed_on,
      owner: r.owner && /^[UW][A-Z0-9]{2,}$/.test(r.owner) ? r.owner : null,
    })),
    aging,
  };
}

