import { type Kysely, type RawBuilder, sql } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import type { Database } from '../db/index.js';
import { currencyExponent } from '../money/index.js';
import { type Clock, UserError, systemClock } from '../util/index.js';
import {
  ACTIVE_STATUSES,
  EXCEPTION_KINDS,
  EXCEPTION_STATUSES,
  type ExceptionKind,
  type ExceptionStatus,
  KIND_LABELS,
  RESOLUTION_CODES,
  type ResolutionCode,
  SEVERITIES,
  type Severity,
} from './kinds.js';

/**
 * The exception queue as people work it: list, look one up, assign, snooze, resolve, reopen.
 *
 * Every transition is one conditional `update … where id = … and status in (allowed) [and version = …]`
 * inside a transaction that also appends its audit entry, so two people acting on the same exception
 * at once cannot both win: the row lock makes the second wait, its condition no longer holds, and it
 * gets a `UserError` saying who got there first. A snoozed exception whose `snoozed_until` has passed
 * counts as open again in lists; nothing has to wake it up.
 */

/** What a list asks for. `open` is what still needs a person now; `mine` is that, assigned to `me`. */
export type ExceptionListStatus = 'open' | 'mine' | 'active' | 'closed' | 'all' | ExceptionStatus;
export const LIST_STATUSES: readonly ExceptionListStatus[] = ['open', 'mine', 'active', 'closed', 'all', ...EXCEPTION_STATUSES];

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const MAX_NOTE_LENGTH = 2000;
export const MAX_SNOOZE_DAYS = 90;

export interface ListExceptionsQuery {
  /** Default `open`: open, assigned, reopened, and snoozed ones whose snooze has run out. */
  status?: ExceptionListStatus | undefined;
  kind?: ExceptionKind | undefined;
  assignee?: string | undefined;
  customerId?: string | undefined;
  /** Who is asking: the assignee `mine` means. */
  me?: string | undefined;
  /** 1-based. */
  page?: number | undefined;
  pageSize?: number | undefined;
  /** For "has the snooze run out"; the system clock by default. */
  clock?: Clock | undefined;
  /**
   * To compare amounts in different currencies when ordering: the reporting currency and the
   * configured rates (`org.fx_rates`, reporting units per unit). Without it amounts are compared in
   * major units as they are.
   */
  fx?: FxOrdering | undefined;
}

export interface FxOrdering {
  reportingCurrency: string;
  rates: Record<string, string>;
}

export interface ExceptionView {
  id: bigint;
  kind: ExceptionKind;
  kindLabel: string;
  /** As stored. */
  status: ExceptionStatus;
  /** True when snoozed and the snooze has run out: it counts as open. */
  snoozeExpired: boolean;
  severity: Severity;
  /** Minor units, signed as the record carries it. */
  amount: bigint;
  currency: string;
  customerId: string | null;
  customerName: string | null;
  billingRecordId: bigint | null;
  /** `invoice:in_…`, `charge:ch_…` */
  billingRecordKey: string | null;
  glEntryId: bigint | null;
  /** `file.csv:42` */
  glSource: string | null;
  glLineKey: string | null;
  stripeId: string | null;
  reference: string | null;
  summary: string;
  details: Record<string, unknown>;
  assignee: string | null;
  snoozedUntil: Date | null;
  resolutionCode: ResolutionCode | null;
  resolutionNote: string | null;
  resolvedBy: string | null;
  resolvedAt: Date | null;
  openedAt: Date;
  updatedAt: Date;
  version: number;
}

export interface ExceptionPage {
  items: ExceptionView[];
  total: number;
  page: number;
  pages: number;
}

interface ExceptionRow {
  id: bigint;
  kind: string;
  status: string;
  severity: string;
  amount: bigint;
  currency: string;
  customer_id: string | null;
  customer_name: string | null;
  billing_record_id: bigint | null;
  billing_record_key: string | null;
  gl_entry_id: bigint | null;
  gl_source: string | null;
  gl_line_key: string | null;
  stripe_id: string | null;
  reference: string | null;
  summary: string;
  details: unknown;
  assignee: string | null;
  snoozed_until: Date | null;
  resolution_code: string | null;
  resolution_note: string | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  opened_at: Date;
  updated_at: Date;
  version: number;
}

const SELECT_VIEW = sql`
  select e.id, e.kind, e.status, e.severity, e.amount, e.currency, e.customer_id, e.customer_name,
    e.billing_record_id, b.record_key as billing_record_key, e.gl_entry_id,
    g.source_file || ':' || g.source_line as gl_source, g.line_key as gl_line_key,
    e.stripe_id, e.reference, e.summary, e.details, e.assignee, e.snoozed_until, e.resolution_code, e.resolution_note,
    e.resolved_by, e.resolved_at, e.opened_at, e.updated_at, e.version
  from exceptions e
  left join recon_billing_records b on b.id = e.billing_record_id
  left join gl_entries g on g.id = e.gl_entry_id`;

function toView(r: ExceptionRow, now: Date): ExceptionView {
  const details = typeof r.details === 'string' ? (JSON.parse(r.details) as unknown) : r.details;
  return {
    id: r.id,
    kind: r.kind as ExceptionKind,
    kindLabel: KIND_LABELS[r.kind as ExceptionKind] ?? r.kind,
    status: r.status as ExceptionStatus,
    snoozeExpired: r.status === 'snoozed' && r.snoozed_until !== null && r.snoozed_until.getTime() <= now.getTime(),
    severity: r.severity as Severity,
    amount: r.amount,
    currency: r.currency,
    customerId: r.customer_id,
    customerName: r.customer_name,
    billingRecordId: r.billing_record_id,
    billingRecordKey: r.billing_record_key,
    glEntryId: r.gl_entry_id,
    glSource: r.gl_source,
    glLineKey: r.gl_line_key,
    stripeId: r.stripe_id,
    reference: r.reference,
    summary: r.summary,
    details: details !== null && typeof details === 'object' ? (details as Record<string, unknown>) : {},
    assignee: r.assignee,
    snoozedUntil: r.snoozed_until,
    resolutionCode: r.resolution_code as ResolutionCode | null,
    resolutionNote: r.resolution_note,
    resolvedBy: r.resolved_by,
    resolvedAt: r.resolved_at,
    openedAt: r.opened_at,
    updatedAt: r.updated_at,
    version: Number(r.version),
  };
}

/**
 * Critical first; within a severity the biggest amounts — worth in the reporting currency where the
 * rate is known (so ¥25,000 does not outrank $2,500), then the others by their amount in major
 * units — then the oldest id.
 */
async function orderBy(db: Kysely<Database>, fx: FxOrdering | undefined): Promise<RawBuilder<unknown>> {
  const currencies = (await sql<{ currency: string }>`select distinct currency from exceptions`.execute(db)).rows.map((r) => r.currency);
  const factors = currencies.map((c) => {
    const rate = fx ? (c === fx.reportingCurrency ? '1' : (fx.rates[c] ?? null)) : null;
    return sql`(${c}::text, power(10::numeric, ${-currencyExponent(c)}::int), ${rate}::numeric)`;
  });
  if (factors.length === 0) return sql`order by e.id`;
  const table = sql`(values ${sql.join(factors)}) as t(c, major, rate)`;
  return sql`
    order by case e.severity when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end,
      abs(e.amount) * (select major * rate from ${table} where t.c = e.currency) desc nulls last,
      abs(e.amount) * (select major from ${table} where t.c = e.currency) desc, e.id`;
}

/** "Needs a person now": open, assigned, reopened, or snoozed with the snooze run out. */
export function openCondition(now: Date): RawBuilder<unknown> {
  return sql`(e.status in ('open', 'assigned', 'reopened') or (e.status = 'snoozed' and e.snoozed_until <= ${now}))`;
}

function statusCondition(status: ExceptionListStatus, now: Date, me: string | undefined): RawBuilder<unknown> {
  switch (status) {
    case 'open':
      return openCondition(now);
    case 'mine':
      if (!me) throw new UserError('"mine" needs to know who is asking.', { field: 'status' });
      return sql`(${openCondition(now)} and e.assignee = ${me})`;
    case 'active':
      return sql`e.status in ('open', 'assigned', 'snoozed', 'reopened')`;
    case 'closed':
      return sql`e.status in ('resolved', 'auto_resolved')`;
    case 'all':
      return sql`true`;
    case 'snoozed':
      // still asleep; the ones whose snooze ran out are listed as open
      return sql`(e.status = 'snoozed' and (e.snoozed_until is null or e.snoozed_until > ${now}))`;
    default:
      return sql`e.status = ${status}`;
  }
}

function positiveInt(value: number | undefined, fallback: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new UserError(`${field} must be a whole number from 1 to ${max} (got ${value}).`, { field });
  }
  return value;
}

export async function listExceptions(db: Kysely<Database>, q: ListExceptionsQuery = {}): Promise<ExceptionPage> {
  const now = (q.clock ?? systemClock).now();
  const status = q.status ?? 'open';
  if (!LIST_STATUSES.includes(status)) {
    throw new UserError(`"${status}" is not an exception status (expected one of ${LIST_STATUSES.join(', ')}).`, { field: 'status' });
  }
  if (q.kind !== undefined && !(EXCEPTION_KINDS as readonly string[]).includes(q.kind)) {
    throw new UserError(`"${q.kind}" is not an exception kind (expected one of ${EXCEPTION_KINDS.join(', ')}).`, { field: 'kind' });
  }
  const page = positiveInt(q.page, 1, 1_000_000, 'page');
  const pageSize = positiveInt(q.pageSize, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, 'pageSize');

  const conds: RawBuilder<unknown>[] = [statusCondition(status, now, q.me)];
  if (q.kind) conds.push(sql`e.kind = ${q.kind}`);
  if (q.assignee) conds.push(sql`e.assignee = ${q.assignee}`);
  if (q.customerId) conds.push(sql`e.customer_id = ${q.customerId}`);
  const where = sql.join(conds, sql` and `);

  const count = await sql<{ n: bigint }>`select count(*) as n from exceptions e where ${where}`.execute(db);
  const total = Number(count.rows[0]?.n ?? 0n);
  const rows = await sql<ExceptionRow>`${SELECT_VIEW} where ${where} ${await orderBy(db, q.fx)}
    limit ${pageSize} offset ${(page - 1) * pageSize}`.execute(db);
  return { items: rows.rows.map((r) => toView(r, now)), total, page, pages: Math.max(1, Math.ceil(total / pageSize)) };
}

/** An exception id as a person types it (`42`, `#42`) or as stored. */
export function parseExceptionId(id: bigint | number | string): bigint {
  if (typeof id === 'bigint') {
    if (id > 0n) return id;
  } else if (typeof id === 'number') {
    if (Number.isSafeInteger(id) && id > 0) return BigInt(id);
  } else {
    const m = /^#?(\d{1,18})$/.exec(id.trim());
    if (m?.[1] && BigInt(m[1]) > 0n) return BigInt(m[1]);
  }
  throw new UserError(`"${String(id)}" is not an exception id (a number such as 42).`, { field: 'id' });
}

async function findRow(db: Kysely<Database>, id: bigint): Promise<ExceptionRow | undefined> {
  return (await sql<ExceptionRow>`${SELECT_VIEW} where e.id = ${id}`.execute(db)).rows[0];
}

export async function getException(db: Kysely<Database>, id: bigint | number | string, opts: { clock?: Clock } = {}): Promise<ExceptionView> {
  const key = parseExceptionId(id);
  const row = await findRow(db, key);
  if (!row) throw new UserError(`There is no exception #${key}.`, { field: 'id' });
  return toView(row, (opts.clock ?? systemClock).now());
}

// ---------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------

export interface TransitionOptions {
  actor: Actor;
  /** Where the action came from (`slack`, `cli`, …); from the actor's kind when omitted. */
  source?: string | undefined;
  /** Slack channel / message ts, request id …: goes into the audit entry. */
  context?: Record<string, unknown> | undefined;
  clock?: Clock | undefined;
  /** The version the person looked at: if someone changed it since, nothing happens and they are told. */
  expectedVersion?: number | undefined;
}

export interface AssignOptions extends TransitionOptions {
  /** Slack user id (or CLI user) to assign to. */
  to: string;
}

export interface SnoozeOptions extends TransitionOptions {
  until: Date;
}

export interface ResolveOptions extends TransitionOptions {
  code: ResolutionCode;
  note: string;
}

export interface ReopenOptions extends TransitionOptions {
  note: string;
}

/** `<@U…>` for a Slack user (Slack renders the name), the id as it is otherwise. */
export function mention(who: string | null): string {
  if (!who) return 'someone';
  return /^[UW][A-Z0-9]{2,}$/.test(who) ? `<@${who}>` : who;
}

function when(d: Date | null): string {
  if (!d) return 'an unknown time';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function sourceOf(o: TransitionOptions): string {
  if (o.source) return o.source;
  switch (o.actor.kind) {
    case 'slack_user':
      return 'slack';
    case 'cli':
      return 'cli';
    case 'scheduler':
      return 'scheduler';
    default:
      return 'system';
  }
}

/** Why a transition cannot happen to this row as it is now, in words for the person who tried. */
function refusal(row: ExceptionRow, verb: string): string {
  const ref = `Exception #${row.id}`;
  switch (row.status) {
    case 'resolved':
      return `${ref} was already resolved by ${mention(row.resolved_by)} at ${when(row.resolved_at)}${row.resolution_code ? ` (${row.resolution_code})` : ''}.`;
    case 'auto_resolved':
      return `${ref} was already resolved automatically at ${when(row.resolved_at)}: the reconciliation found its counterpart.`;
    default:
      return `${ref} is ${row.status === 'assigned' ? `assigned to ${mention(row.assignee)}` : row.status}; it cannot be ${verb}.`;
  }
}

interface Transition {
  verb: string;
  action: string;
  allowed: readonly ExceptionStatus[];
  /** `set …` assignments, besides status bookkeeping. */
  set: (now: Date) => RawBuilder<unknown>;
  after: ExceptionStatus;
  /** Checks against the current row, after the lock (e.g. "already assigned to them"). */
  check?: (row: ExceptionRow) => string | null;
  /** Extra fields for the audit entry's `after`. */
  auditAfter: Record<string, unknown>;
}

async function transition(db: Kysely<Database>, rawId: bigint | number | string, o: TransitionOptions, t: Transition): Promise<ExceptionView> {
  const id = parseExceptionId(rawId);
  const clock = o.clock ?? systemClock;
  if (o.expectedVersion !== undefined && (!Number.isInteger(o.expectedVersion) || o.expectedVersion < 1)) {
    throw new UserError(`expectedVersion must be a positive whole number (got ${o.expectedVersion}).`, { field: 'version' });
  }
  return db.transaction().execute(async (trx) => {
    const now = clock.now();
    // The row as it is now (waits for anyone changing it to finish), for the audit entry's "before"
    // and for telling a person who lost a race what happened.
    const before = (await sql<ExceptionRow>`${SELECT_VIEW} where e.id = ${id} for update of e`.execute(trx)).rows[0];
    if (!before) throw new UserError(`There is no exception #${id}.`, { field: 'id' });
    const versionOk = o.expectedVersion === undefined || before.version === o.expectedVersion;
    if (!t.allowed.includes(before.status as ExceptionStatus)) throw new UserError(refusal(before, t.verb));
    if (!versionOk) {
      throw new UserError(
        `Exception #${id} changed since you looked at it (now ${before.status === 'assigned' ? `assigned to ${mention(before.assignee)}` : before.status}, ` +
          `last updated ${when(before.updated_at)}). Reload it and try again.`,
      );
    }
    const problem = t.check?.(before);
    if (problem) throw new UserError(problem);

    const updated = await sql<{ id: bigint }>`
      update exceptions e set ${t.set(now)}, status = ${t.after}, updated_at = ${now}, version = e.version + 1
      where e.id = ${id} and e.status = any(${[...t.allowed]}::text[])
        ${o.expectedVersion === undefined ? sql`` : sql`and e.version = ${o.expectedVersion}`}
      returning e.id`.execute(trx);
    if (updated.rows.length === 0) {
      // Only reachable if the lock above did not hold (it does on PostgreSQL); say what is there now.
      const current = await findRow(trx, id);
      throw new UserError(current ? refusal(current, t.verb) : `There is no exception #${id}.`);
    }
    const after = await findRow(trx, id);
    if (!after) throw new Error(`exception #${id} vanished inside its own transaction`);
    await recordAudit(
      trx,
      {
        actor: o.actor,
        action: t.action,
        entity: { type: 'exception', id: id.toString() },
        before: { status: before.status, assignee: before.assignee, snoozed_until: before.snoozed_until, version: before.version },
        after: { status: after.status, ...t.auditAfter, version: after.version },
        source: sourceOf(o),
        context: { kind: before.kind, ...(o.context ?? {}) },
      },
      { now: () => now },
    );
    return toView(after, now);
  });
}

const WORKABLE: readonly ExceptionStatus[] = ACTIVE_STATUSES;

function requireNote(note: unknown, what: string): string {
  const text = typeof note === 'string' ? note.trim() : '';
  if (!text) throw new UserError(`Say ${what} in a note.`, { field: 'note' });
  if (text.length > MAX_NOTE_LENGTH) {
    throw new UserError(`The note is ${text.length} characters; keep it to ${MAX_NOTE_LENGTH}.`, { field: 'note' });
  }
  return text;
}

export async function assign(db: Kysely<Database>, id: bigint | number | string, o: AssignOptions): Promise<ExceptionView> {
  const to = typeof o.to === 'string' ? o.to.trim() : '';
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(to)) throw new UserError(`"${String(o.to)}" is not someone billops can assign to (a Slack user id such as U0123ABCD).`, { field: 'to' });
  return transition(db, id, o, {
    verb: 'assigned',
    action: 'exception.assigned',
    allowed: WORKABLE,
    after: 'assigned',
    set: () => sql`assignee = ${to}, snoozed_until = null`,
    check: (row) => (row.status === 'assigned' && row.assignee === to ? `Exception #${row.id} is already assigned to ${mention(to)}.` : null),
    auditAfter: { assignee: to },
  });
}

export async function snooze(db: Kysely<Database>, id: bigint | number | string, o: SnoozeOptions): Promise<ExceptionView> {
  const now = (o.clock ?? systemClock).now();
  const until = o.until;
  if (!(until instanceof Date) || Number.isNaN(until.getTime())) throw new UserError('Snooze until when? Give a date.', { field: 'until' });
  if (until.getTime() <= now.getTime()) throw new UserError(`Snooze until a time in the future (${when(until)} has passed).`, { field: 'until' });
  if (until.getTime() > now.getTime() + MAX_SNOOZE_DAYS * 86_400_000) {
    throw new UserError(`An exception can be snoozed for at most ${MAX_SNOOZE_DAYS} days (until ${when(new Date(now.getTime() + MAX_SNOOZE_DAYS * 86_400_000))}).`, {
      field: 'until',
    });
  }
  return transition(db, id, { ...o, clock: { now: () => now } }, {
    verb: 'snoozed',
    action: 'exception.snoozed',
    allowed: WORKABLE,
    after: 'snoozed',
    set: () => sql`snoozed_until = ${until}`,
    auditAfter: { snoozed_until: until.toISOString() },
  });
}

export async function resolve(db: Kysely<Database>, id: bigint | number | string, o: ResolveOptions): Promise<ExceptionView> {
  if (!(RESOLUTION_CODES as readonly string[]).includes(o.code)) {
    throw new UserError(`"${String(o.code)}" is not a resolution code (expected one of ${RESOLUTION_CODES.join(', ')}).`, { field: 'code' });
  }
  const note = requireNote(o.note, 'how it was resolved');
  return transition(db, id, o, {
    verb: 'resolved',
    action: 'exception.resolved',
    allowed: WORKABLE,
    after: 'resolved',
    set: (now) => sql`resolution_code = ${o.code}, resolution_note = ${note}, resolved_by = ${o.actor.id}, resolved_at = ${now}, snoozed_until = null`,
    auditAfter: { resolution_code: o.code, resolution_note: note },
  });
}

export async function reopen(db: Kysely<Database>, id: bigint | number | string, o: ReopenOptions): Promise<ExceptionView> {
  const note = requireNote(o.note, 'why it is reopened');
  return transition(db, id, o, {
    verb: 'reopened',
    action: 'exception.reopened',
    allowed: ['resolved', 'auto_resolved'],
    after: 'reopened',
    set: () => sql`resolution_code = null, resolution_note = null, resolved_by = null, resolved_at = null, snoozed_until = null`,
    auditAfter: { note },
  });
}

// ---------------------------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------------------------

export interface KindSummary {
  kind: ExceptionKind;
  label: string;
  count: number;
  /** Per currency, minor units, sorted by currency. */
  amounts: Array<{ currency: string; amount: bigint }>;
}

export interface ExceptionDigest {
  /** Exceptions that need a person now (the `open` list). */
  open: number;
  bySeverity: Record<Severity, number>;
  byKind: KindSummary[];
  /** The first items of the `open` list (critical first, biggest first). */
  top: ExceptionView[];
}

/** What a morning digest shows: how much is open, by kind and severity, and the items to start with. */
export async function exceptionDigest(db: Kysely<Database>, opts: { clock?: Clock; top?: number; fx?: FxOrdering } = {}): Promise<ExceptionDigest> {
  const now = (opts.clock ?? systemClock).now();
  const open = openCondition(now);
  const kinds = await sql<{ kind: string; currency: string; n: bigint; total: bigint }>`
    select e.kind, e.currency, count(*) as n, sum(abs(e.amount))::bigint as total
    from exceptions e where ${open} group by e.kind, e.currency order by e.kind, e.currency`.execute(db);
  const sev = await sql<{ severity: string; n: bigint }>`
    select e.severity, count(*) as n from exceptions e where ${open} group by e.severity`.execute(db);
  const byKind = new Map<string, KindSummary>();
  for (const r of kinds.rows) {
    const k = byKind.get(r.kind) ?? { kind: r.kind as ExceptionKind, label: KIND_LABELS[r.kind as ExceptionKind] ?? r.kind, count: 0, amounts: [] };
    k.count += Number(r.n);
    k.amounts.push({ currency: r.currency, amount: r.total });
    byKind.set(r.kind, k);
  }
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const r of sev.rows) bySeverity[r.severity as Severity] = Number(r.n);
  const top = opts.top ?? 5;
  const list = top > 0 ? await listExceptions(db, { status: 'open', pageSize: Math.min(top, MAX_PAGE_SIZE), clock: { now: () => now }, fx: opts.fx }) : null;
  return {
    open: Object.values(bySeverity).reduce((a, b) => a + b, 0),
    bySeverity,
    // in the order of EXCEPTION_KINDS, so a digest always reads the same way
    byKind: EXCEPTION_KINDS.flatMap((k) => byKind.get(k) ?? []),
    top: list?.items ?? [],
  };
}
