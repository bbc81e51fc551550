import { type RawBuilder, sql } from 'kysely';
import type { BillopsFile } from '../config/index.js';
import { convertMinor, currencyExponent, parseUserAmount } from '../money/index.js';
import type { CollectionsSegmentConfig, CollectionsSegmentMatch, CollectionsStepConfig } from './config-schema.js';
import type { PolicySegment, PolicyStep, StepEffect, StepKind } from './types.js';

/**
 * The `collections:` policy, compiled once per run into what the engine needs: the segments and
 * their steps, and SQL that chooses each invoice's segment in the same statement that finds its due
 * step (set-based: no per-invoice round trip to decide anything).
 */
export interface CompiledPolicy {
  enabled: boolean;
  timezone: string;
  /** In the order they are tried; the default segment is among them. */
  segments: PolicySegment[];
  defaultSegment: string;
  ownerMetadataKey: string;
  undated: 'finalized' | 'skip';
  undatedNetDays: number;
  maxAttempts: number;
  batchSize: number;
  leaseMs: number;
  maxPauseDays: number;
  /**
   * `case when … then '<segment>' … else '<default>' end` over `i` (stripe_invoices) and `c`
   * (stripe_customers, left-joined: its columns may be null).
   */
  segmentSql: RawBuilder<string>;
  /** `(values (segment, step_id, idx, day, kind), …)`: every step of every segment. */
  stepsValues: RawBuilder<unknown>;
  /** The invoice's due day in org.timezone, over `i`: due date, else finalization (or creation) + net days. */
  dueOnSql: RawBuilder<string>;
  step(segment: string, stepId: string): PolicyStep | undefined;
  segment(name: string): PolicySegment | undefined;
}

const DAY_WORDS = (n: number) => `${n} day${n === 1 ? '' : 's'}`;

/** "Reminder, 3 days before due", "Follow-up, 7 days overdue", "Formal collections, 30 days overdue". */
export function stepLabel(kind: StepKind, day: number): string {
  const when = day < 0 ? `${DAY_WORDS(-day)} before due` : day === 0 ? 'due today' : `${DAY_WORDS(day)} overdue`;
  const what = { reminder: 'Reminder', follow_up: 'Follow-up', escalation: 'Escalation', formal: 'Formal collections' }[kind];
  return `${what}, ${when}`;
}

function effectsOf(s: CollectionsStepConfig): StepEffect[] {
  const e: StepEffect[] = [];
  if (s.remind_customer) e.push('remind_customer');
  if (s.dm_owner) e.push('dm_owner');
  if (s.dm_lead) e.push('dm_lead');
  if (s.post_channel !== undefined) e.push('post_channel');
  return e;
}

function channelOf(ref: string | undefined, file: BillopsFile): string | null {
  if (ref === undefined) return null;
  if (ref === 'collections') return file.slack.channels.collections ?? null;
  if (ref === 'finance') return file.slack.channels.finance ?? null;
  return ref;
}

/**
 * Invoice value in minor units of the reporting currency (numeric, unrounded), for amount
 * conditions: null for a currency without a rate in org.fx_rates.
 */
function reportingValueSql(file: BillopsFile): RawBuilder<string> {
  const rep = file.org.reporting_currency;
  const rates: Array<[string, string]> = [[rep, '1'], ...Object.entries(file.org.fx_rates).filter(([c]) => c !== rep)];
  const whens = rates.map(([cur, rate]) => {
    const shift = currencyExponent(rep) - currencyExponent(cur);
    return sql`when ${cur} then i.total::numeric * ${rate}::numeric * power(10::numeric, ${shift}::int)`;
  });
  return sql<string>`(case i.currency ${sql.join(whens, sql` `)} end)`;
}

function amountCondition(text: string, op: '>=' | '<', file: BillopsFile): RawBuilder<boolean> {
  const m = parseUserAmount(text, { allowZero: true });
  const rep = file.org.reporting_currency;
  const rate = m.currency === rep ? '1' : file.org.fx_rates[m.currency];
  const inReporting = rate === undefined ? null : convertMinor(m.amount, m.currency, rep, rate);
  const cmp = sql.raw(op);
  // Same currency: compared as is. Otherwise both sides in the reporting currency; no rate → false.
  return sql<boolean>`(case when i.currency = ${m.currency} then i.total ${cmp} ${m.amount}
    else coalesce(${reportingValueSql(file)} ${cmp} ${inReporting === null ? null : inReporting.toString()}::numeric, false) end)`;
}

function matchSql(m: CollectionsSegmentMatch, file: BillopsFile): RawBuilder<boolean> {
  const parts: RawBuilder<boolean>[] = [];
  for (const [key, want] of Object.entries(m.metadata ?? {})) {
    const values = Array.isArray(want) ? want : [want];
    parts.push(sql<boolean>`coalesce((c.metadata ->> ${key}) = any(${values}::text[]), false)`);
  }
  if (m.collection_method) parts.push(sql<boolean>`coalesce(i.collection_method = ${m.collection_method}, false)`);
  const billed = (col: 'price_id' | 'product_id', ids: string[]) =>
    sql<boolean>`(exists (select 1 from stripe_invoice_lines l where l.invoice_id = i.id and l.${sql.ref(col)} = any(${ids}::text[]))
      or exists (select 1 from stripe_subscriptions s where s.id = i.subscription_id and s.${sql.ref(col)} = any(${ids}::text[])))`;
  if (m.prices) parts.push(billed('price_id', m.prices));
  if (m.products) parts.push(billed('product_id', m.products));
  if (m.min_amount) parts.push(amountCondition(m.min_amount, '>=', file));
  if (m.max_amount) parts.push(amountCondition(m.max_amount, '<', file));
  return sql<boolean>`(${sql.join(parts, sql` and `)})`;
}

export function compilePolicy(file: BillopsFile): CompiledPolicy {
  const c = file.collections;
  const segments: PolicySegment[] = c.segments.map((s: CollectionsSegmentConfig) => ({
    name: s.name,
    ownerFallback: s.owner_fallback ?? null,
    lead: s.lead ?? c.lead ?? null,
    steps: s.steps.map((st) => ({
      id: st.id,
      day: st.day,
      kind: st.kind,
      label: st.label ?? stepLabel(st.kind, st.day),
      effects: effectsOf(st),
      channel: channelOf(st.post_channel, file),
      channelRef: st.post_channel ?? null,
    })),
  }));
  const matched = c.segments.filter((s) => s.match !== undefined);
  const segmentSql =
    matched.length === 0
      ? sql<string>`${c.default_segment}::text`
      : sql<string>`(case ${sql.join(
          matched.map((s) => sql`when ${matchSql(s.match as CollectionsSegmentMatch, file)} then ${s.name}::text`),
          sql` `,
        )} else ${c.default_segment}::text end)`;
  const rows = segments.flatMap((s) => s.steps.map((st, idx) => sql`(${s.name}::text, ${st.id}::text, ${idx}::int, ${st.day}::int, ${st.kind}::text)`));
  const stepsValues = sql`(values ${sql.join(rows)})`;
  const tz = file.org.timezone;
  const dueOnSql = sql<string>`(case when i.due_date is not null then (i.due_date at time zone ${tz})::date
    else (coalesce(i.finalized_at, i.created) at time zone ${tz})::date + ${c.undated_net_days}::int end)`;
  const bySegment = new Map(segments.map((s) => [s.name, s]));
  return {
    enabled: c.enabled,
    timezone: tz,
    segments,
    defaultSegment: c.default_segment,
    ownerMetadataKey: c.owner_metadata_key,
    undated: c.undated_invoices,
    undatedNetDays: c.undated_net_days,
    maxAttempts: c.max_attempts,
    batchSize: c.batch_size,
    leaseMs: c.lease_minutes * 60_000,
    maxPauseDays: c.max_pause_days,
    segmentSql,
    stepsValues,
    dueOnSql,
    segment: (name) => bySegment.get(name),
    step: (segment, stepId) => bySegment.get(segment)?.steps.find((s) => s.id === stepId),
  };
}
