import { hostname } from 'node:os';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Actor, type AuditEntry, recordAudit, recordAuditMany } from '../audit/index.js';
import type { Database } from '../db/index.js';
import { type Money, money } from '../money/index.js';
import { stringifyJson } from '../util/index.js';
import { daysBetween, today } from './days.js';
import { closeLeftInvoices } from './exit.js';
import { type CompiledPolicy, compilePolicy } from './policy.js';
import { LAST_DECLINE_LATERAL, OWED_SQL, pauseKindSql } from './sql.js';
import { asCollectionsStripe } from './stripe-actions.js';
import type {
  CollectionsDeps,
  CollectionsNotice,
  CollectionsRunDeps,
  CollectionsRunSummary,
  CollectionsStripe,
  CustomerReminder,
  PauseKind,
  PolicySegment,
  PolicyStep,
  SentMessage,
  StepEffect,
  StepKind,
  StepOutcome,
  StepStatus,
} from './types.js';

/**
 * The dunning engine (the `collections` job).
 *
 * Deciding is one set-based query: for every owed invoice, its segment (policy.ts), its due day in
 * org.timezone, and the latest step whose day has come (today − due day ≥ step day). If that step has
 * no row yet — or failed on an earlier run, or is held by a replica whose lease ran out — it is work.
 * Invoices of paused accounts (promise to pay, open dispute) are counted, not worked.
 *
 * Performing is claim → act → record:
 *  1. Claim, in one transaction: INSERT the (invoice, step) row as `running` with ON CONFLICT DO
 *     NOTHING (a retry: a conditional UPDATE of the `failed` row). Only what this statement returned
 *     is ours; a second replica or a rerun gets nothing for it. The same transaction marks the
 *     invoice's earlier steps without a row `skipped` (caught up) and earlier failed ones `skipped`
 *     (superseded), and audits them: when the job was down for a week, or a pause just ended, the
 *     customer gets the one step that is due now, not every step they missed.
 *  2. Act, outside any transaction: the invoice is read again (paid meanwhile → the step is closed;
 *     paused meanwhile → the claim is released), then each side effect in turn — Stripe's
 *     `sendInvoice` with the idempotency key `collections:<invoice>:<step>`, or for a charged-
 *     automatically invoice the retry state Stripe reports; Slack through the notifier. Each effect
 *     done is appended to the row at once, so a retry after a partial failure does not repeat it.
 *  3. Record: `done` (audited with what each effect did) or `failed` (audited with the error;
 *     retried on a later run, up to `collections.max_attempts`; a later step that comes due first
 *     supersedes it).
 * Work is claimed in rounds of `collections.batch_size`; a claim holds for `lease_minutes`.
 */

const SYSTEM: Actor = { kind: 'system', id: 'collections' };
const OWNER_ID = /^[UW][A-Z0-9]{2,}$/;
/** Outcomes kept in a run's summary (the counts are always complete). */
const KEEP_OUTCOMES = 1000;

export interface PlannedStep {
  invoiceId: string;
  invoiceNumber: string | null;
  customerId: string | null;
  segment: string;
  step: { id: string; label: string; kind: StepKind; day: number };
  dueOn: string;
  daysPastDue: number;
  amountRemaining: Money;
  /** Null: never attempted; `failed`: to be retried; `running`: a replica died holding it. */
  stepStatus: StepStatus | null;
  attempts: number;
  /** What holds it, if anything. */
  paused: PauseKind | null;
}

export interface CollectionsPlan {
  day: string;
  timezone: string;
  /** Invoices with a step to perform now (not paused). */
  due: number;
  /** … held by a pause. */
  paused: number;
  /** The first `limit` of them (oldest due day first), paused ones included. */
  items: PlannedStep[];
}

interface PlanRow {
  invoice_id: string;
  customer_id: string | null;
  number: string | null;
  segment: string;
  step_id: string;
  idx: number;
  day: number;
  kind: string;
  due_on: string;
  amount_remaining: bigint;
  currency: string;
  step_status: string | null;
  attempts: number | null;
  paused: string | null;
}

/** The deciding query: one row per owed invoice whose latest due step is still to do. */
function planSql(policy: CompiledPolicy, day: string, now: Date, runStart: Date): RawBuilder<PlanRow> {
  const undated = policy.undated === 'skip' ? sql`and i.due_date is not null` : sql``;
  return sql<PlanRow>`
    with inv as (
      select i.id, i.customer_id, i.number, i.currency, i.amount_remaining, ${policy.dueOnSql} as due_on, ${policy.segmentSql} as segment
      from stripe_invoices i
      left join stripe_customers c on c.id = i.customer_id
      where ${OWED_SQL} and coalesce(i.finalized_at, i.created) <= ${now} ${undated}
    ),
    st (segment, step_id, idx, day, kind) as ${policy.stepsValues},
    latest as (
      select distinct on (inv.id) inv.*, st.step_id, st.idx, st.day, st.kind
      from inv join st on st.segment = inv.segment and st.day <= ${day}::date - inv.due_on
      order by inv.id, st.idx desc
    )
    select l.id as invoice_id, l.customer_id, l.number, l.segment, l.step_id, l.idx, l.day, l.kind, l.due_on, l.amount_remaining, l.currency,
      cs.status as step_status, cs.attempts, ${pauseKindSql(sql`l.customer_id`, day)} as paused
    from latest l
    left join collection_steps cs on cs.invoice_id = l.id and cs.step_id = l.step_id
    where cs.invoice_id is null
      or (cs.status = 'failed' and cs.attempts < ${policy.maxAttempts} and cs.updated_at < ${runStart})
      or (cs.status = 'running' and cs.lease_until <= ${now})`;
}

function plannedOf(r: PlanRow, policy: CompiledPolicy, day: string): PlannedStep {
  const step = policy.step(r.segment, r.step_id);
  return {
    invoiceId: r.invoice_id,
    invoiceNumber: r.number,
    customerId: r.customer_id,
    segment: r.segment,
    step: { id: r.step_id, label: step?.label ?? r.step_id, kind: r.kind as StepKind, day: r.day },
    dueOn: r.due_on,
    daysPastDue: daysBetween(r.due_on, day),
    amountRemaining: money(r.amount_remaining, r.currency),
    stepStatus: (r.step_status as StepStatus | null) ?? null,
    attempts: r.attempts ?? 0,
    paused: (r.paused as PauseKind | null) ?? null,
  };
}

/** What the job would do today, without doing it (also what the bench times). */
export async function planCollections(deps: CollectionsDeps, opts: { limit?: number } = {}): Promise<CollectionsPlan> {
  const policy = compilePolicy(deps.config.file);
  const now = deps.clock.now();
  const day = today(policy.timezone, now);
  const plan = planSql(policy, day, now, now);
  const [counts, items] = await Promise.all([
    sql<{ due: string; paused: string }>`
      select count(*) filter (where paused is null)::text as due, count(*) filter (where paused is not null)::text as paused from (${plan}) p`.execute(deps.db),
    sql<PlanRow>`select * from (${plan}) p order by p.due_on, p.invoice_id limit ${opts.limit ?? 1000}`.execute(deps.db),
  ]);
  return {
    day,
    timezone: policy.timezone,
    due: Number(counts.rows[0]?.due ?? 0),
    paused: Number(counts.rows[0]?.paused ?? 0),
    items: items.rows.map((r) => plannedOf(r, policy, day)),
  };
}

// --- claiming -------------------------------------------------------------------------------------

interface Claim {
  plan: PlanRow;
  attempts: number;
  effectsDone: StepEffect[];
  /** What earlier attempts recorded per effect. */
  result: Record<string, unknown>;
  skipped: string[];
}

interface RunState {
  deps: CollectionsRunDeps;
  policy: CompiledPolicy;
  day: string;
  runStart: Date;
  workerId: string;
  actor: Actor;
  source: string;
  stripeOf: () => CollectionsStripe;
}

function parseJson(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return {};
  const o = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : {};
}

/** One round: plan a batch and claim what no one else has. `planned` 0 means nothing is left to do. */
async function claimRound(s: RunState): Promise<{ planned: number; claims: Claim[] }> {
  const { deps, policy, day } = s;
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now();
    const lease = new Date(now.getTime() + policy.leaseMs);
    const plan = await sql<PlanRow>`
      select * from (${planSql(policy, day, now, s.runStart)}) p where p.paused is null
      order by p.due_on, p.invoice_id limit ${policy.batchSize}`.execute(trx);
    if (plan.rows.length === 0) return { planned: 0, claims: [] };
    const byKey = new Map(plan.rows.map((r) => [`${r.invoice_id}\u0000${r.step_id}`, r]));
    const fresh = plan.rows.filter((r) => r.step_status === null);
    const retry = plan.rows.filter((r) => r.step_status !== null);
    const claimed: Array<{ invoice_id: string; step_id: string; attempts: number; effects_done: string[]; result: unknown }> = [];
    if (fresh.length) {
      const col = <K extends keyof PlanRow>(k: K) => fresh.map((r) => r[k]);
      const ins = await sql<{ invoice_id: string; step_id: string; attempts: number; effects_done: string[]; result: unknown }>`
        insert into collection_steps (invoice_id, step_id, segment, customer_id, step_day, step_kind, due_on, status, idempotency_key,
          attempts, amount_remaining, currency, lease_until, locked_by, claimed_on, claimed_at, updated_at)
        select u.invoice_id, u.step_id, u.segment, u.customer_id, u.day, u.kind, u.due_on, 'running', 'collections:' || u.invoice_id || ':' || u.step_id,
          1, u.amount_remaining, u.currency, ${lease}, ${s.workerId}, ${day}::date, ${now}, ${now}
        from unnest(${col('invoice_id')}::text[], ${col('step_id')}::text[], ${col('segment')}::text[], ${col('customer_id')}::text[],
          ${col('day')}::int[], ${col('kind')}::text[], ${col('due_on')}::date[], ${fresh.map((r) => r.amount_remaining.toString())}::int8[], ${col('currency')}::text[])
          as u(invoice_id, step_id, segment, customer_id, day, kind, due_on, amount_remaining, currency)
        order by u.invoice_id, u.step_id
        on conflict (invoice_id, step_id) do nothing
        returning invoice_id, step_id, attempts, effects_done, result`.execute(trx);
      claimed.push(...ins.rows);
    }
    if (retry.length) {
      const upd = await sql<{ invoice_id: string; step_id: string; attempts: number; effects_done: string[]; result: unknown }>`
        update collection_steps s set status = 'running', attempts = s.attempts + 1, lease_until = ${lease}, locked_by = ${s.workerId},
          amount_remaining = u.amount_remaining, claimed_on = ${day}::date, updated_at = ${now}
        from unnest(${retry.map((r) => r.invoice_id)}::text[], ${retry.map((r) => r.step_id)}::text[], ${retry.map((r) => r.amount_remaining.toString())}::int8[])
          as u(invoice_id, step_id, amount_remaining)
        where s.invoice_id = u.invoice_id and s.step_id = u.step_id
          and ((s.status = 'failed' and s.attempts < ${policy.maxAttempts} and s.updated_at < ${s.runStart}) or (s.status = 'running' and s.lease_until <= ${now}))
        returning s.invoice_id, s.step_id, s.attempts, s.effects_done, s.result`.execute(trx);
      claimed.push(...upd.rows);
    }
    if (claimed.length === 0) return { planned: plan.rows.length, claims: [] };
    const claims: Claim[] = claimed.map((c) => ({
      plan: byKey.get(`${c.invoice_id}\u0000${c.step_id}`) as PlanRow,
      attempts: c.attempts,
      effectsDone: c.effects_done as StepEffect[],
      result: parseJson(c.result),
      skipped: [],
    }));
    await catchUp(s, trx, claims, now);
    claims.sort((a, b) => (a.plan.due_on === b.plan.due_on ? (a.plan.invoice_id < b.plan.invoice_id ? -1 : 1) : a.plan.due_on < b.plan.due_on ? -1 : 1));
    return { planned: plan.rows.length, claims };
  });
}

/** Earlier steps of the claimed invoices: never done → skipped (caught up); failed or stuck → skipped (superseded). */
async function catchUp(s: RunState, trx: Kysely<Database>, claims: Claim[], now: Date): Promise<void> {
  const p = claims.map((c) => c.plan);
  const arr = <K extends keyof PlanRow>(k: K) => p.map((r) => r[k]);
  const caught = await sql<{ invoice_id: string; step_id: string; by_step: string }>`
    insert into collection_steps (invoice_id, step_id, segment, customer_id, step_day, step_kind, due_on, status, idempotency_key,
      attempts, reason, amount_remaining, currency, claimed_on, claimed_at, finished_at, updated_at)
    select u.invoice_id, st.step_id, u.segment, u.customer_id, st.day, st.kind, u.due_on, 'skipped', 'collections:' || u.invoice_id || ':' || st.step_id,
      0, 'caught up: ' || u.step_id || ' was due', u.amount_remaining, u.currency, ${s.day}::date, ${now}, ${now}, ${now}
    from unnest(${arr('invoice_id')}::text[], ${arr('step_id')}::text[], ${arr('segment')}::text[], ${arr('customer_id')}::text[], ${arr('idx')}::int[],
      ${arr('due_on')}::date[], ${p.map((r) => r.amount_remaining.toString())}::int8[], ${arr('currency')}::text[])
      as u(invoice_id, step_id, segment, customer_id, idx, due_on, amount_remaining, currency)
    join ${s.policy.stepsValues} as st (segment, step_id, idx, day, kind) on st.segment = u.segment and st.idx < u.idx
    order by u.invoice_id, st.idx
    on conflict (invoice_id, step_id) do nothing
    returning invoice_id, step_id, substring(reason from 'caught up: (.*) was due') as by_step`.execute(trx);
  const superseded = await sql<{ invoice_id: string; step_id: string; by_step: string; last_error: string | null }>`
    update collection_steps s set status = 'skipped', reason = 'superseded: ' || u.step_id || ' was due', lease_until = null, finished_at = ${now}, updated_at = ${now}
    from unnest(${arr('invoice_id')}::text[], ${arr('step_id')}::text[]) as u(invoice_id, step_id)
    where s.invoice_id = u.invoice_id and s.step_id <> u.step_id and (s.status = 'failed' or (s.status = 'running' and s.lease_until <= ${now}))
    returning s.invoice_id, s.step_id, u.step_id as by_step, s.last_error`.execute(trx);
  const byInvoice = new Map(claims.map((c) => [c.plan.invoice_id, c]));
  const entries: AuditEntry[] = [];
  for (const r of caught.rows) {
    byInvoice.get(r.invoice_id)?.skipped.push(r.step_id);
    entries.push({
      actor: s.actor,
      action: 'collections.step_skipped',
      entity: { type: 'invoice', id: r.invoice_id },
      before: { step: r.step_id, status: null },
      after: { step: r.step_id, status: 'skipped', reason: 'caught_up', performed_instead: r.by_step },
      source: s.source,
      context: { day: s.day, worker: s.workerId },
    });
  }
  for (const r of superseded.rows) {
    byInvoice.get(r.invoice_id)?.skipped.push(r.step_id);
    entries.push({
      actor: s.actor,
      action: 'collections.step_skipped',
      entity: { type: 'invoice', id: r.invoice_id },
      before: { step: r.step_id, status: 'failed', error: r.last_error },
      after: { step: r.step_id, status: 'skipped', reason: 'superseded', performed_instead: r.by_step },
      source: s.source,
      context: { day: s.day, worker: s.workerId },
    });
  }
  await recordAuditMany(trx, entries, { now: () => now });
}

// --- performing -----------------------------------------------------------------------------------

interface InvoiceContext {
  id: string;
  number: string | null;
  customer_id: string | null;
  currency: string;
  amount_due: bigint;
  amount_remaining: bigint;
  status: string | null;
  collection_method: string | null;
  hosted_invoice_url: string | null;
  attempt_count: number;
  next_payment_attempt: Date | null;
  customer_name: string | null;
  customer_email: string | null;
  owner_meta: string | null;
  owed: boolean;
  paused: string | null;
  decline_charge_id: string | null;
  decline_code: string | null;
  decline_message: string | null;
  decline_at: Date | null;
}

async function invoiceContext(s: RunState, invoiceId: string): Promise<InvoiceContext | undefined> {
  const r = await sql<InvoiceContext>`
    select i.id, i.number, i.customer_id, i.currency, i.amount_due, i.amount_remaining,
      case when i.deleted_at is not null then 'deleted' else i.status end as status, i.collection_method, i.hosted_invoice_url,
      i.attempt_count, i.next_payment_attempt, c.name as customer_name, c.email as customer_email,
      c.metadata ->> ${s.policy.ownerMetadataKey} as owner_meta, ${OWED_SQL} as owed, ${pauseKindSql(sql`i.customer_id`, s.day)} as paused,
      d.id as decline_charge_id, d.failure_code as decline_code, d.failure_message as decline_message, d.created as decline_at
    from stripe_invoices i
    left join stripe_customers c on c.id = i.customer_id
    left join ${LAST_DECLINE_LATERAL} d on true
    where i.id = ${invoiceId}`.execute(s.deps.db);
  return r.rows[0];
}

type EffectResult = { detail: string; record: Record<string, unknown>; message?: SentMessage };

function ownerOf(inv: InvoiceContext, segment: PolicySegment): CollectionsNotice['owner'] {
  const meta = inv.owner_meta?.trim();
  if (meta && OWNER_ID.test(meta)) return { userId: meta, source: 'metadata' };
  return segment.ownerFallback ? { userId: segment.ownerFallback, source: 'segment_fallback' } : null;
}

function reminderOf(inv: InvoiceContext, claim: Claim, stripe: () => CollectionsStripe): CustomerReminder {
  if (inv.collection_method === 'send_invoice') {
    const earlier = claim.result.remind_customer as { reached_stripe?: boolean } | undefined;
    return { kind: 'invoice_sent', reachedStripe: earlier?.reached_stripe ?? stripe().reachesStripe };
  }
  return {
    kind: 'stripe_retries',
    attemptCount: inv.attempt_count,
    nextPaymentAttempt: inv.next_payment_attempt,
    lastDecline: inv.decline_at ? { code: inv.decline_code, message: inv.decline_message, at: inv.decline_at } : null,
  };
}

function noticeOf(s: RunState, claim: Claim, inv: InvoiceContext, step: PolicyStep, segment: PolicySegment, audience: CollectionsNotice['audience'], reminder: CustomerReminder | null): CollectionsNotice {
  const owner = ownerOf(inv, segment);
  const mentions: string[] = [];
  if ((step.kind === 'escalation' || step.kind === 'formal') && owner) mentions.push(owner.userId);
  if (step.kind === 'formal' && segment.lead && !mentions.includes(segment.lead)) mentions.push(segment.lead);
  return {
    audience,
    step: { id: step.id, label: step.label, kind: step.kind, day: step.day },
    segment: segment.name,
    invoice: {
      id: inv.id,
      number: inv.number,
      amountDue: money(inv.amount_due, inv.currency),
      amountRemaining: money(inv.amount_remaining, inv.currency),
      dueOn: claim.plan.due_on,
      daysPastDue: daysBetween(claim.plan.due_on, s.day),
      collectionMethod: inv.collection_method,
      hostedInvoiceUrl: inv.hosted_invoice_url,
      attemptCount: inv.attempt_count,
      nextPaymentAttempt: inv.next_payment_attempt,
      lastDecline:
        inv.decline_charge_id && inv.decline_at ? { chargeId: inv.decline_charge_id, code: inv.decline_code, message: inv.decline_message, at: inv.decline_at } : null,
    },
    customer: { id: inv.customer_id, name: inv.customer_name, email: inv.customer_email },
    owner,
    mentions,
    reminder,
    key: `collections:${inv.id}:${step.id}`,
    timezone: s.policy.timezone,
  };
}

async function performEffect(
  s: RunState,
  effect: StepEffect,
  claim: Claim,
  inv: InvoiceContext,
  step: PolicyStep,
  segment: PolicySegment,
  reminder: CustomerReminder | null,
): Promise<EffectResult> {
  const label = inv.number ?? inv.id;
  const key = `collections:${inv.id}:${step.id}`;
  switch (effect) {
    case 'remind_customer': {
      if (inv.collection_method === 'send_invoice') {
        const stripe = s.stripeOf();
        await stripe.sendInvoice(inv.id, key);
        return stripe.reachesStripe
          ? { detail: `Stripe e-mailed invoice ${label} to ${inv.customer_email ?? 'the customer'} again`, record: { sent: true, reached_stripe: true, idempotency_key: key } }
          : { detail: `NOT SENT TO STRIPE: Stripe would e-mail invoice ${label} again (no Stripe account in this run)`, record: { sent: false, reached_stripe: false, idempotency_key: key } };
      }
      const r = reminder?.kind === 'stripe_retries' ? reminder : null;
      const next = r?.nextPaymentAttempt ? `next attempt ${r.nextPaymentAttempt.toISOString()}` : 'no retry scheduled';
      return {
        detail: `charged automatically: Stripe's retries remind the customer (${r?.attemptCount ?? 0} failed attempt${r?.attemptCount === 1 ? '' : 's'}, ${next}); recorded, nothing sent`,
        record: {
          stripe_retries: {
            attempt_count: r?.attemptCount ?? 0,
            next_payment_attempt: r?.nextPaymentAttempt?.toISOString() ?? null,
            last_decline: r?.lastDecline ? { code: r.lastDecline.code, message: r.lastDecline.message, at: r.lastDecline.at.toISOString() } : null,
          },
        },
      };
    }
    case 'dm_owner': {
      const owner = ownerOf(inv, segment);
      if (!owner) {
        return {
          detail: `no account owner: customer metadata "${s.policy.ownerMetadataKey}" names no Slack user and segment ${segment.name} has no owner_fallback`,
          record: { to: null },
        };
      }
      const message = await s.deps.notifier.dm(owner.userId, noticeOf(s, claim, inv, step, segment, 'owner', reminder));
      return { detail: `DM to the account owner <@${owner.userId}> (${owner.source === 'metadata' ? 'customer metadata' : 'segment fallback'})`, record: { to: owner.userId, source: owner.source, ...message }, message };
    }
    case 'dm_lead': {
      if (!segment.lead) return { detail: `no collections lead: neither segment ${segment.name} nor collections.lead names one`, record: { to: null } };
      const message = await s.deps.notifier.dm(segment.lead, noticeOf(s, claim, inv, step, segment, 'lead', reminder));
      return { detail: `DM to the collections lead <@${segment.lead}>`, record: { to: segment.lead, ...message }, message };
    }
    case 'post_channel': {
      if (!step.channel) return { detail: `no channel: slack.channels.${step.channelRef ?? 'collections'} is not set`, record: { channel: null } };
      const message = await s.deps.notifier.postChannel(step.channel, noticeOf(s, claim, inv, step, segment, 'channel', reminder));
      return { detail: `posted to <#${step.channel}>`, record: { ...message }, message };
    }
  }
}

function errorText(err: unknown): string {
  const e = err as { message?: string; statusCode?: number; code?: string; data?: { error?: string } };
  const base = e?.message ?? String(err);
  return (e?.statusCode ? `Stripe ${e.statusCode}${e.code ? ` ${e.code}` : ''}: ${base}` : base).slice(0, 1000);
}

/** Conditional on still holding the claim (this worker, this attempt). */
function held(s: RunState, c: Claim) {
  return sql`invoice_id = ${c.plan.invoice_id} and step_id = ${c.plan.step_id} and status = 'running' and locked_by = ${s.workerId} and attempts = ${c.attempts}`;
}

async function perform(s: RunState, claim: Claim): Promise<StepOutcome> {
  const { deps, policy } = s;
  const p = claim.plan;
  const segment = policy.segment(p.segment);
  const step = policy.step(p.segment, p.step_id);
  const outcome: StepOutcome = {
    invoiceId: p.invoice_id,
    invoiceNumber: p.number,
    customerId: p.customer_id,
    customerName: null,
    segment: p.segment,
    step: { id: p.step_id, label: step?.label ?? p.step_id, kind: p.kind as StepKind, day: p.day },
    status: 'failed',
    amountRemaining: money(p.amount_remaining, p.currency),
    daysPastDue: daysBetween(p.due_on, s.day),
    effects: [],
    skipped: claim.skipped,
    error: null,
  };
  const context = { idempotency_key: `collections:${p.invoice_id}:${p.step_id}`, attempt: claim.attempts, worker: s.workerId, day: s.day };
  const inv = await invoiceContext(s, p.invoice_id);
  if (inv) outcome.customerName = inv.customer_name;

  if (!inv || !inv.owed) {
    const now = deps.clock.now();
    const status = inv?.status ?? 'gone';
    await deps.db.transaction().execute(async (trx) => {
      const res = await sql`update collection_steps set status = 'closed', reason = ${`invoice ${status}`}, lease_until = null, finished_at = ${now}, updated_at = ${now}
        where ${held(s, claim)}`.execute(trx);
      if (Number(res.numAffectedRows ?? 0n) === 0) return;
      await recordAudit(
        trx,
        { actor: s.actor, action: 'collections.step_closed', entity: { type: 'invoice', id: p.invoice_id }, before: { step: p.step_id, status: 'running' }, after: { step: p.step_id, status: 'closed', reason: `invoice ${status}` }, source: s.source, context },
        { now: () => now },
      );
      await closeLeftInvoices(trx, [p.invoice_id], { at: now, via: 'job', actor: s.actor });
    });
    outcome.status = 'closed';
    return outcome;
  }
  if (!segment || !step) {
    // The policy changed between claim and perform (another replica's config): give the claim back.
    await release(s, claim);
    outcome.status = 'released';
    outcome.error = `step ${p.step_id} of segment ${p.segment} is not in this replica's policy`;
    return outcome;
  }
  if (inv.paused) {
    await release(s, claim);
    outcome.status = 'released';
    outcome.error = `account paused (${inv.paused === 'dispute' ? 'open dispute' : 'promise to pay'})`;
    return outcome;
  }

  const reminder = step.effects.includes('remind_customer') ? reminderOf(inv, claim, s.stripeOf) : null;
  const records: Record<string, unknown> = { ...claim.result };
  for (const effect of step.effects) {
    if (claim.effectsDone.includes(effect)) {
      outcome.effects.push({ effect, done: true, detail: 'done on an earlier attempt' });
      continue;
    }
    let res: EffectResult;
    try {
      res = await performEffect(s, effect, claim, inv, step, segment, reminder);
    } catch (err) {
      const message = errorText(err);
      outcome.effects.push({ effect, done: false, detail: message });
      outcome.error = `${effect}: ${message}`;
      await fail(s, claim, outcome, records);
      return outcome;
    }
    records[effect] = { detail: res.detail, ...res.record };
    outcome.effects.push({ effect, done: true, detail: res.detail, ...(res.message ? { message: res.message } : {}) });
    const saved = await sql`update collection_steps set effects_done = array_append(effects_done, ${effect}::text),
        result = result || ${stringifyJson({ [effect]: records[effect] })}::jsonb, updated_at = ${deps.clock.now()}
      where ${held(s, claim)}`.execute(deps.db);
    if (Number(saved.numAffectedRows ?? 0n) === 0) {
      deps.logger.warn({ invoiceId: p.invoice_id, step: p.step_id }, 'collections step claim lost while performing it (lease ran out and another replica took it)');
      outcome.status = 'released';
      outcome.error = 'claim lost: another replica took the step over after the lease ran out';
      return outcome;
    }
  }

  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    const res = await sql`update collection_steps set status = 'done', lease_until = null, last_error = null, finished_at = ${now}, updated_at = ${now}
      where ${held(s, claim)}`.execute(trx);
    if (Number(res.numAffectedRows ?? 0n) === 0) return;
    await recordAudit(
      trx,
      {
        actor: s.actor,
        action: 'collections.step_performed',
        entity: { type: 'invoice', id: p.invoice_id },
        before: { step: p.step_id, status: claim.attempts > 1 ? 'failed' : null },
        after: {
          step: p.step_id,
          status: 'done',
          label: step.label,
          kind: step.kind,
          segment: segment.name,
          customer_id: inv.customer_id,
          amount_remaining: inv.amount_remaining.toString(),
          currency: inv.currency,
          days_past_due: outcome.daysPastDue,
          effects: records,
          skipped_earlier: claim.skipped,
        },
        source: s.source,
        context,
      },
      { now: () => now },
    );
  });
  outcome.status = 'done';
  return outcome;
}

async function fail(s: RunState, claim: Claim, outcome: StepOutcome, records: Record<string, unknown>): Promise<void> {
  const p = claim.plan;
  const now = s.deps.clock.now();
  const willRetry = claim.attempts < s.policy.maxAttempts;
  await s.deps.db.transaction().execute(async (trx) => {
    const res = await sql`update collection_steps set status = 'failed', lease_until = null, last_error = ${outcome.error}, updated_at = ${now}
      where ${held(s, claim)}`.execute(trx);
    if (Number(res.numAffectedRows ?? 0n) === 0) return;
    await recordAudit(
      trx,
      {
        actor: s.actor,
        action: 'collections.step_failed',
        entity: { type: 'invoice', id: p.invoice_id },
        before: { step: p.step_id, status: 'running' },
        after: { step: p.step_id, status: 'failed', error: outcome.error, attempts: claim.attempts, will_retry: willRetry, effects_done: records },
        source: s.source,
        context: { idempotency_key: `collections:${p.invoice_id}:${p.step_id}`, attempt: claim.attempts, worker: s.workerId, day: s.day },
      },
      { now: () => now },
    );
  });
}

/** Give a claim back untouched: a fresh claim disappears, a retried one is failed again (its attempt counted). */
async function release(s: RunState, claim: Claim): Promise<void> {
  const now = s.deps.clock.now();
  if (claim.attempts === 1 && claim.effectsDone.length === 0) {
    await sql`delete from collection_steps where ${held(s, claim)}`.execute(s.deps.db);
  } else {
    await sql`update collection_steps set status = 'failed', lease_until = null, updated_at = ${now} where ${held(s, claim)}`.execute(s.deps.db);
  }
}

// --- the run ----------------------------------------------------------------------------------------

function workerIdOf(deps: CollectionsRunDeps): string {
  return deps.workerId ?? deps.config.env.BILLOPS_REPLICA_ID ?? `${hostname()}:${process.pid}`;
}

function lazyStripe(source: CollectionsRunDeps['stripe']): () => CollectionsStripe {
  let built: CollectionsStripe | undefined;
  return () => {
    built ??= asCollectionsStripe(typeof source === 'function' ? source() : source);
    return built;
  };
}

/** Promise-to-pay pauses whose last day has passed: recorded (and audited) once. */
async function recordLapses(s: RunState): Promise<number> {
  const now = s.deps.clock.now();
  return s.deps.db.transaction().execute(async (trx) => {
    const lapsed = await sql<{ id: bigint; customer_id: string; until_day: string; note: string }>`
      update collection_pauses set lapsed_at = ${now}
      where cleared_at is null and lapsed_at is null and until_day < ${s.day}::date
      returning id, customer_id, until_day, note`.execute(trx);
    await recordAuditMany(
      trx,
      lapsed.rows.map((r) => ({
        actor: s.actor,
        action: 'collections.pause_lapsed',
        entity: { type: 'customer', id: r.customer_id },
        before: { pause: 'promise_to_pay', pause_id: r.id.toString(), until: r.until_day, note: r.note },
        after: { pause: null, resumed_on: s.day },
        source: s.source,
        context: { worker: s.workerId },
      })),
      { now: () => now },
    );
    return lapsed.rows.length;
  });
}

/**
 * One run of the collections job: records lapsed pauses and invoices that left collections, then
 * claims and performs every due step, round after round, until nothing is left (or `signal` stops it).
 * Safe to run on any number of replicas at once.
 */
export async function runCollections(deps: CollectionsRunDeps): Promise<CollectionsRunSummary> {
  const started = performance.now();
  const policy = compilePolicy(deps.config.file);
  const runStart = deps.clock.now();
  const day = today(policy.timezone, runStart);
  const s: RunState = {
    deps,
    policy,
    day,
    runStart,
    workerId: workerIdOf(deps),
    actor: deps.actor ?? SYSTEM,
    source: deps.source ?? 'scheduler',
    stripeOf: lazyStripe(deps.stripe),
  };
  const summary: CollectionsRunSummary = {
    day,
    timezone: policy.timezone,
    due: 0,
    performed: 0,
    failed: 0,
    skipped: 0,
    closed: 0,
    paused: 0,
    pausesLapsed: 0,
    released: 0,
    outcomes: [],
    durationMs: 0,
  };
  if (!policy.enabled) {
    summary.durationMs = Math.round(performance.now() - started);
    return summary;
  }
  summary.pausesLapsed = await recordLapses(s);
  summary.closed += (
    await deps.db.transaction().execute((trx) => closeLeftInvoices(trx, 'all', { at: deps.clock.now(), via: 'job', actor: s.actor }))
  ).length;
  const counts = await sql<{ due: string; paused: string }>`
    select count(*) filter (where paused is null)::text as due, count(*) filter (where paused is not null)::text as paused
    from (${planSql(policy, day, runStart, runStart)}) p`.execute(deps.db);
  summary.due = Number(counts.rows[0]?.due ?? 0);
  summary.paused = Number(counts.rows[0]?.paused ?? 0);

  const keep = (o: StepOutcome) => {
    if (summary.outcomes.length < KEEP_OUTCOMES) summary.outcomes.push(o);
    deps.onStep?.(o);
  };
  // Rounds until nothing is planned. A round that claims nothing lost its batch to another replica
  // (those steps are now theirs and drop out of the next plan); rounds that settle nothing (every claim
  // given back) are a safety stop, not expected.
  let idle = 0;
  while (!deps.signal?.aborted && idle < 50) {
    const { planned, claims } = await claimRound(s);
    if (planned === 0) break;
    let settled = 0;
    for (const [i, claim] of claims.entries()) {
      if (deps.signal?.aborted) {
        for (const rest of claims.slice(i)) await release(s, rest);
        summary.released += claims.length - i;
        break;
      }
      summary.skipped += claim.skipped.length;
      let o: StepOutcome;
      try {
        o = await perform(s, claim);
      } catch (err) {
        // our own bookkeeping failed (a dropped connection): the lease lets the next run retry it
        deps.logger.error({ err, invoiceId: claim.plan.invoice_id, step: claim.plan.step_id }, 'collections step could not be recorded');
        summary.failed++;
        settled++;
        continue;
      }
      if (o.status === 'done') summary.performed++;
      else if (o.status === 'failed') summary.failed++;
      else if (o.status === 'closed') summary.closed++;
      else summary.released++;
      if (o.status !== 'released') settled++;
      keep(o);
    }
    idle = settled === 0 ? idle + 1 : 0;
  }
  summary.durationMs = Math.round(performance.now() - started);
  return summary;
}

// --- one invoice's history --------------------------------------------------------------------------

export interface InvoiceStepRecord {
  stepId: string;
  segment: string;
  kind: StepKind;
  day: number;
  status: StepStatus;
  attempts: number;
  effectsDone: StepEffect[];
  /** Per effect: what it did (detail, message channel/ts, Stripe idempotency key …). */
  result: Record<string, unknown>;
  reason: string | null;
  lastError: string | null;
  claimedOn: string;
  finishedAt: Date | null;
}

export interface InvoiceDunning {
  invoiceId: string;
  dueOn: string | null;
  steps: InvoiceStepRecord[];
  /** When it left collections, and why. */
  exit: { status: string | null; at: Date; via: string } | null;
}

/** Every step of one invoice so far (for the account card and the dunning view), by step day. */
export async function invoiceDunning(db: Kysely<Database>, invoiceId: string): Promise<InvoiceDunning> {
  const [steps, exit] = await Promise.all([
    db.selectFrom('collection_steps').selectAll().where('invoice_id', '=', invoiceId).orderBy('step_day').orderBy('step_id').execute(),
    db.selectFrom('collection_exits').selectAll().where('invoice_id', '=', invoiceId).executeTakeFirst(),
  ]);
  return {
    invoiceId,
    dueOn: steps[0]?.due_on ?? null,
    steps: steps.map((r) => ({
      stepId: r.step_id,
      segment: r.segment,
      kind: r.step_kind as StepKind,
      day: r.step_day,
      status: r.status as StepStatus,
      attempts: r.attempts,
      effectsDone: r.effects_done as StepEffect[],
      result: parseJson(r.result),
      reason: r.reason,
      lastError: r.last_error,
      claimedOn: r.claimed_on,
      finishedAt: r.finished_at,
    })),
    exit: exit ? { status: exit.status, at: exit.left_at, via: exit.via } : null,
  };
}
