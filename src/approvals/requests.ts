import { type Kysely, sql } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { ACTIVE_STATUSES, KIND_LABELS, RESOLUTION_CODES, getException, mention } from '../exceptions/index.js';
import { MAX_MINOR_UNITS, type Money, formatMoney, normalizeCurrency } from '../money/index.js';
import { type Clock, UserError, stringifyJson, systemClock } from '../util/index.js';
import { requiredApprovals } from './policy.js';
import {
  ACTION_LABELS,
  APPROVAL_ACTIONS,
  type ActionParams,
  type ApprovalAction,
  type ApprovalDeps,
  ApprovalInputError,
  type ApprovalRequestView,
  PAUSE_BEHAVIORS,
  type RequestStatus,
  type SlackOrigin,
} from './types.js';

/**
 * Requests and decisions. A request is validated against billops' copy of the Stripe data and the
 * policy, stored, and audited; every later change (approve, reject, expire, retry) is a conditional
 * update of the request row under its lock, inside a transaction that also appends the audit entry,
 * so double clicks and approvers acting at the same moment are harmless: exactly one of them moves
 * the request, the others are told what happened.
 */

export const MAX_NOTE_LENGTH = 2000;
/** Stripe accepts a trial end at most two years ahead. */
export const MAX_TRIAL_DAYS = 730;
const DAY_MS = 86_400_000;
/** A finished request stays in its requester's list this long. */
const RECENT_MS = 7 * DAY_MS;

/** Statuses in which a request is still on its way (not finished). */
export const OPEN_STATUSES: readonly RequestStatus[] = ['pending', 'approved', 'executing', 'failed'];

// ---------------------------------------------------------------------------------------------
// Stored form and views
// ---------------------------------------------------------------------------------------------

export interface RequestRow {
  id: bigint;
  action: string;
  params: unknown;
  target_id: string;
  customer_id: string;
  customer_label: string;
  amount: bigint | null;
  currency: string | null;
  title: string;
  status: string;
  required_approvals: number;
  policy_note: string | null;
  requested_by: string;
  requested_by_name: string | null;
  requested_origin: unknown;
  requested_at: Date;
  expires_at: Date;
  approved_at: Date | null;
  rejected_by: string | null;
  rejection_reason: string | null;
  rejected_at: Date | null;
  attempts: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  stripe_object_id: string | null;
  executed_at: Date | null;
  result: unknown;
  message_channel: string | null;
  message_ts: string | null;
  updated_at: Date;
  version: number;
}

function parseJson(v: unknown): unknown {
  return typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
}

/** ActionParams as stored (bigint and dates as strings). */
export function paramsToJson(p: ActionParams): Record<string, unknown> {
  switch (p.action) {
    case 'credit':
      return { ...p, amount: p.amount.toString() };
    case 'extend_trial':
      return { ...p, trialEnd: p.trialEnd.toISOString() };
    case 'pause_collection':
      return { ...p, resumesAt: p.resumesAt ? p.resumesAt.toISOString() : null };
    default:
      return { ...p };
  }
}

export function paramsFromJson(raw: unknown): ActionParams {
  const o = parseJson(raw) as Record<string, unknown>;
  switch (o.action) {
    case 'credit':
      return { ...(o as object), amount: BigInt(o.amount as string) } as ActionParams;
    case 'extend_trial':
      return { ...(o as object), trialEnd: new Date(o.trialEnd as string) } as ActionParams;
    case 'pause_collection':
      return { ...(o as object), resumesAt: o.resumesAt ? new Date(o.resumesAt as string) : null } as ActionParams;
    default:
      return o as unknown as ActionParams;
  }
}

function originFrom(raw: unknown, userId: string, userName: string | null): SlackOrigin {
  const o = (parseJson(raw) ?? {}) as Partial<SlackOrigin>;
  const origin: SlackOrigin = { userId };
  const name = o.userName ?? userName ?? undefined;
  if (name) origin.userName = name;
  if (o.teamId) origin.teamId = o.teamId;
  if (o.channelId) origin.channelId = o.channelId;
  if (o.messageTs) origin.messageTs = o.messageTs;
  return origin;
}

interface DecisionRow {
  request_id: bigint;
  user_id: string;
  decision: string;
  decided_at: Date;
}

export function toView(r: RequestRow, decisions: readonly DecisionRow[]): ApprovalRequestView {
  return {
    id: r.id.toString(),
    action: r.action as ApprovalAction,
    params: paramsFromJson(r.params),
    customerId: r.customer_id,
    customerLabel: r.customer_label,
    amount: r.amount !== null && r.currency !== null ? { amount: r.amount, currency: r.currency } : null,
    title: r.title,
    status: r.status as RequestStatus,
    requiredApprovals: r.required_approvals as 0 | 1 | 2,
    policyNote: r.policy_note,
    requestedBy: originFrom(r.requested_origin, r.requested_by, r.requested_by_name),
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
    approvals: decisions.filter((d) => d.request_id === r.id && d.decision === 'approve').map((d) => ({ userId: d.user_id, at: d.decided_at })),
    rejection: r.rejected_by && r.rejected_at ? { userId: r.rejected_by, reason: r.rejection_reason ?? '', at: r.rejected_at } : null,
    execution: {
      attempts: r.attempts,
      nextAttemptAt: r.next_attempt_at,
      lastError: r.last_error,
      stripeObjectId: r.stripe_object_id,
      executedAt: r.executed_at,
    },
    message: r.message_channel && r.message_ts ? { channel: r.message_channel, ts: r.message_ts } : null,
  };
}

export async function viewsOf(db: Kysely<Database>, rows: readonly RequestRow[]): Promise<ApprovalRequestView[]> {
  if (rows.length === 0) return [];
  const decisions = (await db
    .selectFrom('approval_decisions')
    .select(['request_id', 'user_id', 'decision', 'decided_at'])
    .where(
      'request_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('decided_at')
    .orderBy('user_id')
    .execute()) as DecisionRow[];
  return rows.map((r) => toView(r, decisions));
}

async function loadRow(db: Kysely<Database>, id: bigint, lock = false): Promise<RequestRow | undefined> {
  const q = sql<RequestRow>`select * from approval_requests where id = ${id} ${lock ? sql`for update` : sql``}`;
  return (await q.execute(db)).rows[0];
}

export async function loadView(db: Kysely<Database>, id: bigint): Promise<ApprovalRequestView> {
  const row = await loadRow(db, id);
  if (!row) throw new Error(`approval request #${id} vanished`);
  const [view] = await viewsOf(db, [row]);
  return view as ApprovalRequestView;
}

/** A request id as Slack carries it (`"42"`, `"#42"`), or null. */
export function parseRequestId(id: string | bigint): bigint | null {
  if (typeof id === 'bigint') return id > 0n ? id : null;
  const m = /^#?(\d{1,18})$/.exec(String(id).trim());
  if (!m?.[1]) return null;
  const n = BigInt(m[1]);
  return n > 0n ? n : null;
}

function requireRequestId(id: string): bigint {
  const n = parseRequestId(id);
  if (n === null) throw new UserError(`"${id}" is not an approval request id.`);
  return n;
}

export async function getRequest(db: Kysely<Database>, id: string): Promise<ApprovalRequestView | null> {
  const n = parseRequestId(id);
  if (n === null) return null;
  const row = await loadRow(db, n);
  if (!row) return null;
  return (await viewsOf(db, [row]))[0] ?? null;
}

export async function setRequestMessage(db: Kysely<Database>, id: string, message: { channel: string; ts: string }): Promise<void> {
  await db
    .updateTable('approval_requests')
    .set({ message_channel: message.channel, message_ts: message.ts })
    .where('id', '=', requireRequestId(id))
    .execute();
}

// ---------------------------------------------------------------------------------------------
// Audit helpers
// ---------------------------------------------------------------------------------------------

export function actorOf(o: SlackOrigin): Actor {
  return { kind: 'slack_user', id: o.userId, ...(o.userName ? { name: o.userName } : {}) };
}

export function contextOf(o: SlackOrigin, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...(o.teamId ? { team_id: o.teamId } : {}),
    ...(o.channelId ? { channel_id: o.channelId } : {}),
    ...(o.messageTs ? { message_ts: o.messageTs } : {}),
    ...extra,
  };
}

function summaryOf(r: RequestRow): Record<string, unknown> {
  return {
    status: r.status,
    action: r.action,
    title: r.title,
    ...(r.amount !== null ? { amount: r.amount.toString(), currency: r.currency } : {}),
    required_approvals: r.required_approvals,
  };
}

// ---------------------------------------------------------------------------------------------
// Validation per action
// ---------------------------------------------------------------------------------------------

interface Validated {
  params: ActionParams;
  targetId: string;
  customerId: string;
  customerLabel: string;
  amount: Money | null;
  title: string;
}

export function reasonCodes(config: Config): Array<{ code: string; label: string }> {
  return config.file.approvals.reason_codes.map((r) => ({ code: r.code, label: r.label }));
}

function note(raw: unknown): string {
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (!text) throw new ApprovalInputError('Say why in a note (it goes to the approvers and the audit log).', 'note');
  if (text.length > MAX_NOTE_LENGTH) throw new ApprovalInputError(`The note is ${text.length} characters; keep it to ${MAX_NOTE_LENGTH}.`, 'note');
  return text;
}

function validDate(d: unknown): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function when(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

interface CustomerInfo {
  id: string;
  label: string;
  currency: string | null;
}

async function customer(db: Kysely<Database>, id: string): Promise<CustomerInfo | null> {
  const c = await db
    .selectFrom('stripe_customers')
    .select(['id', 'name', 'email', 'currency'])
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return c ? { id: c.id, label: c.name || c.email || c.id, currency: c.currency ? c.currency.toUpperCase() : null } : null;
}

async function customerLabel(db: Kysely<Database>, id: string | null): Promise<string> {
  if (!id) return 'no customer';
  const c = await db.selectFrom('stripe_customers').select(['name', 'email']).where('id', '=', id).executeTakeFirst();
  return c?.name || c?.email || id;
}

async function subscriptionFor(db: Kysely<Database>, id: unknown) {
  const subId = typeof id === 'string' ? id.trim() : '';
  if (!subId) throw new ApprovalInputError('Which subscription? Give its id (sub_…).', 'subscription');
  const sub = await db
    .selectFrom('stripe_subscriptions')
    .select(['id', 'customer_id', 'status', 'trial_end', 'cancel_at_period_end', 'pause_behavior', 'current_period_end'])
    .where('id', '=', subId)
    .executeTakeFirst();
  if (!sub) throw new ApprovalInputError(`billops knows no subscription ${subId}.`, 'subscription');
  const cus = await customer(db, sub.customer_id);
  if (!cus) throw new ApprovalInputError(`Subscription ${subId} belongs to ${sub.customer_id}, which billops does not know (or which was deleted).`, 'subscription');
  return { sub, cus };
}

async function invoiceFor(db: Kysely<Database>, id: unknown) {
  const invId = typeof id === 'string' ? id.trim() : '';
  if (!invId) throw new ApprovalInputError('Which invoice? Give its id (in_…).', 'invoice');
  const inv = await db
    .selectFrom('stripe_invoices')
    .select(['id', 'number', 'customer_id', 'status', 'amount_remaining', 'currency', 'deleted_at'])
    .where('id', '=', invId)
    .executeTakeFirst();
  if (!inv || inv.deleted_at !== null) throw new ApprovalInputError(`billops knows no invoice ${invId}.`, 'invoice');
  return inv;
}

const ENDED = ['canceled', 'incomplete_expired'];

async function validate(deps: ApprovalDeps, p: ActionParams, now: Date): Promise<Validated> {
  const db = deps.db;
  if (!p || typeof p !== 'object' || !(APPROVAL_ACTIONS as readonly string[]).includes((p as { action: string }).action)) {
    throw new UserError(`Unknown money action (expected one of ${APPROVAL_ACTIONS.join(', ')}).`);
  }
  switch (p.action) {
    case 'credit': {
      if (typeof p.amount !== 'bigint') throw new ApprovalInputError('How much? Give the credit amount.', 'amount');
      if (p.amount <= 0n) throw new ApprovalInputError('A credit must be more than zero.', 'amount');
      if (p.amount > MAX_MINOR_UNITS) throw new ApprovalInputError('That amount is larger than billops accepts.', 'amount');
      let currency: string;
      try {
        currency = normalizeCurrency(String(p.currency ?? ''));
      } catch (err) {
        throw new ApprovalInputError((err as Error).message, 'currency');
      }
      const reason = config(deps).approvals.reason_codes.find((r) => r.code === p.reasonCode);
      if (!reason) {
        throw new ApprovalInputError(
          `"${String(p.reasonCode ?? '')}" is not a reason code (expected one of ${config(deps)
            .approvals.reason_codes.map((r) => r.code)
            .join(', ')}).`,
          'reason',
        );
      }
      const cus = await customer(db, String(p.customerId ?? '').trim());
      if (!cus) throw new ApprovalInputError(`billops knows no customer ${String(p.customerId ?? '')} (or it was deleted in Stripe).`, 'customer');
      if (cus.currency && cus.currency !== currency) {
        throw new ApprovalInputError(`${cus.label}'s Stripe balance is kept in ${cus.currency}: the credit must be in ${cus.currency} too.`, 'currency');
      }
      const params: ActionParams = { action: 'credit', customerId: cus.id, amount: p.amount, currency, reasonCode: reason.code, note: note(p.note) };
      const amount = { amount: p.amount, currency };
      return { params, targetId: cus.id, customerId: cus.id, customerLabel: cus.label, amount, title: `Credit ${formatMoney(amount)} to ${cus.label} (${reason.label})` };
    }
    case 'extend_trial': {
      const { sub, cus } = await subscriptionFor(db, p.subscriptionId);
      if (sub.status !== 'trialing') throw new ApprovalInputError(`Subscription ${sub.id} is ${sub.status}, not on a trial.`, 'subscription');
      if (!validDate(p.trialEnd)) throw new ApprovalInputError('Until when? Give the new trial end.', 'trial_end');
      if (p.trialEnd.getTime() <= now.getTime()) throw new ApprovalInputError(`The new trial end (${day(p.trialEnd)}) has passed.`, 'trial_end');
      if (sub.trial_end && p.trialEnd.getTime() <= sub.trial_end.getTime()) {
        throw new ApprovalInputError(`The trial already runs until ${day(sub.trial_end)}; pick a later day to extend it.`, 'trial_end');
      }
      if (p.trialEnd.getTime() > now.getTime() + MAX_TRIAL_DAYS * DAY_MS) {
        throw new ApprovalInputError(`Stripe accepts a trial end at most ${MAX_TRIAL_DAYS} days ahead.`, 'trial_end');
      }
      const params: ActionParams = { action: 'extend_trial', subscriptionId: sub.id, trialEnd: p.trialEnd, note: note(p.note) };
      const from = sub.trial_end ? ` from ${day(sub.trial_end)}` : '';
      return { params, targetId: sub.id, customerId: cus.id, customerLabel: cus.label, amount: null, title: `Extend ${cus.label}'s trial${from} to ${day(p.trialEnd)}` };
    }
    case 'pause_collection': {
      const { sub, cus } = await subscriptionFor(db, p.subscriptionId);
      if (ENDED.includes(sub.status)) throw new ApprovalInputError(`Subscription ${sub.id} is ${sub.status}.`, 'subscription');
      if (sub.pause_behavior) throw new ApprovalInputError(`Collection on ${sub.id} is already paused (${sub.pause_behavior}).`, 'subscription');
      if (!(PAUSE_BEHAVIORS as readonly string[]).includes(p.behavior)) {
        throw new ApprovalInputError(`What happens to invoices meanwhile? One of ${PAUSE_BEHAVIORS.join(', ')}.`, 'behavior');
      }
      if (p.resumesAt !== null && (!validDate(p.resumesAt) || p.resumesAt.getTime() <= now.getTime())) {
        throw new ApprovalInputError('Collection resumes on a day in the future (or leave it empty to resume by hand).', 'resumes_at');
      }
      const params: ActionParams = { action: 'pause_collection', subscriptionId: sub.id, behavior: p.behavior, resumesAt: p.resumesAt, note: note(p.note) };
      const how = { keep_as_draft: 'invoices kept as drafts', mark_uncollectible: 'invoices marked uncollectible', void: 'invoices voided' }[p.behavior];
      return {
        params,
        targetId: sub.id,
        customerId: cus.id,
        customerLabel: cus.label,
        amount: null,
        title: `Pause collection for ${cus.label} ${p.resumesAt ? `until ${day(p.resumesAt)}` : 'until resumed'} (${how})`,
      };
    }
    case 'resume_collection': {
      const { sub, cus } = await subscriptionFor(db, p.subscriptionId);
      if (!sub.pause_behavior) throw new ApprovalInputError(`Collection on ${sub.id} is not paused.`, 'subscription');
      const params: ActionParams = { action: 'resume_collection', subscriptionId: sub.id, note: note(p.note) };
      return { params, targetId: sub.id, customerId: cus.id, customerLabel: cus.label, amount: null, title: `Resume collection for ${cus.label}` };
    }
    case 'cancel_at_period_end': {
      const { sub, cus } = await subscriptionFor(db, p.subscriptionId);
      if (ENDED.includes(sub.status)) throw new ApprovalInputError(`Subscription ${sub.id} is already ${sub.status}.`, 'subscription');
      if (sub.cancel_at_period_end) throw new ApprovalInputError(`Subscription ${sub.id} already cancels at the end of its period.`, 'subscription');
      const params: ActionParams = { action: 'cancel_at_period_end', subscriptionId: sub.id, note: note(p.note) };
      const end = sub.current_period_end ? ` (${day(sub.current_period_end)})` : '';
      return { params, targetId: sub.id, customerId: cus.id, customerLabel: cus.label, amount: null, title: `Cancel ${cus.label}'s subscription at period end${end}` };
    }
    case 'undo_cancel': {
      const { sub, cus } = await subscriptionFor(db, p.subscriptionId);
      if (ENDED.includes(sub.status)) throw new ApprovalInputError(`Subscription ${sub.id} has already ended (${sub.status}).`, 'subscription');
      if (!sub.cancel_at_period_end) throw new ApprovalInputError(`Subscription ${sub.id} is not set to cancel.`, 'subscription');
      const params: ActionParams = { action: 'undo_cancel', subscriptionId: sub.id, note: note(p.note) };
      return { params, targetId: sub.id, customerId: cus.id, customerLabel: cus.label, amount: null, title: `Undo ${cus.label}'s cancellation at period end` };
    }
    case 'void_invoice':
    case 'mark_uncollectible': {
      const inv = await invoiceFor(db, p.invoiceId);
      const allowed = p.action === 'void_invoice' ? ['open', 'uncollectible'] : ['open'];
      if (!allowed.includes(inv.status ?? '')) {
        throw new ApprovalInputError(
          `Invoice ${inv.number ?? inv.id} is ${inv.status ?? 'without a status'}; only ${allowed.join(' or ')} invoices can be ${p.action === 'void_invoice' ? 'voided' : 'written off'}.`,
          'invoice',
        );
      }
      const label = await customerLabel(db, inv.customer_id);
      const amount = { amount: inv.amount_remaining, currency: inv.currency.toUpperCase() };
      const params: ActionParams = { action: p.action, invoiceId: inv.id, note: note(p.note) };
      const what = `invoice ${inv.number ?? inv.id} (${formatMoney(amount)}) of ${label}`;
      return {
        params,
        targetId: inv.id,
        customerId: inv.customer_id ?? '',
        customerLabel: label,
        amount,
        title: p.action === 'void_invoice' ? `Void ${what}` : `Write off ${what} as uncollectible`,
      };
    }
    case 'resolve_exception': {
      const ex = await getException(db, String(p.exceptionId ?? ''), { clock: deps.clock });
      if (!ACTIVE_STATUSES.includes(ex.status)) throw new UserError(`Exception #${ex.id} is ${ex.status.replace('_', ' ')}; there is nothing to resolve.`);
      if (!(RESOLUTION_CODES as readonly string[]).includes(p.resolutionCode)) {
        throw new ApprovalInputError(`"${String(p.resolutionCode)}" is not a resolution code (expected one of ${RESOLUTION_CODES.join(', ')}).`, 'reason');
      }
      const amount = { amount: ex.amount < 0n ? -ex.amount : ex.amount, currency: ex.currency };
      const params: ActionParams = { action: 'resolve_exception', exceptionId: ex.id.toString(), resolutionCode: p.resolutionCode, note: note(p.note) };
      return {
        params,
        targetId: ex.id.toString(),
        customerId: ex.customerId ?? '',
        customerLabel: ex.customerName ?? (ex.customerId ? await customerLabel(db, ex.customerId) : 'no customer'),
        amount,
        title: `Resolve exception #${ex.id} (${KIND_LABELS[ex.kind] ?? ex.kind}, ${formatMoney(amount)}) as ${p.resolutionCode}`,
      };
    }
  }
}

function config(deps: ApprovalDeps) {
  return deps.config.file;
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** Whether anyone at all is configured to approve (approvers or admins). */
function anyApprover(c: Config): boolean {
  return c.file.roles.approver.length > 0 || c.file.roles.admin.length > 0;
}

/**
 * An empty `roles.requester` means everyone in the workspace may ask (the approval is the guardrail);
 * once it lists anyone, only they and admins may.
 */
export async function mayRequest(deps: ApprovalDeps, userId: string): Promise<boolean> {
  if (deps.config.file.roles.requester.length === 0) return true;
  return deps.roles(userId, 'requester');
}

function requireOrigin(o: SlackOrigin | undefined): SlackOrigin {
  if (!o || typeof o.userId !== 'string' || !o.userId.trim()) throw new UserError('Who is asking? (no user id)');
  return { ...o, userId: o.userId.trim() };
}

/** JSON with sorted keys (jsonb does not keep the order keys were written in). */
function canonical(o: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
}

export async function insertOutbox(db: Kysely<Database>, requestId: bigint, action: ApprovalAction, now: Date): Promise<void> {
  await db
    .insertInto('approval_outbox')
    .values({
      request_id: requestId,
      action,
      idempotency_key: `approval:${requestId}:${action}`,
      status: 'queued',
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('request_id').doNothing())
    .execute();
}

export async function createRequest(deps: ApprovalDeps, input: { params: ActionParams; requester: SlackOrigin }): Promise<ApprovalRequestView> {
  const requester = requireOrigin(input.requester);
  const now = deps.clock.now();
  if (!(await mayRequest(deps, requester.userId))) {
    throw new UserError('Only people in roles.requester (or roles.admin) in billops.yml can request money actions. Ask an admin to add you.');
  }
  const v = await validate(deps, input.params, now);
  const policy = requiredApprovals(deps.config, v.params.action, v.amount);
  if (policy.required > 0 && !anyApprover(deps.config)) {
    throw new UserError('Nobody can approve this: roles.approver and roles.admin are both empty in billops.yml.');
  }
  const expiresAt = new Date(now.getTime() + deps.config.file.approvals.expire_after_hours * 3_600_000);
  const status: RequestStatus = policy.required === 0 ? 'approved' : 'pending';
  const id = await deps.db.transaction().execute(async (trx) => {
    // One request at a time per target: the lock makes a double submission see the first one.
    await sql`select pg_advisory_xact_lock(hashtext(${`approval:${v.params.action}:${v.targetId}`}))`.execute(trx);
    const open = await sql<{ id: bigint; requested_by: string; params: unknown; status: string }>`
      select id, requested_by, params, status from approval_requests
      where action = ${v.params.action} and target_id = ${v.targetId} and status in ('pending', 'approved', 'executing')
      order by id`.execute(trx);
    for (const o of open.rows) {
      if (v.params.action !== 'credit') {
        throw new UserError(`There is already request #${o.id} (${o.status}) to ${ACTION_LABELS[v.params.action].toLowerCase()} on this; it has to finish first.`);
      }
      const same = canonical(paramsToJson(paramsFromJson(o.params))) === canonical(paramsToJson(v.params));
      if (same && o.requested_by === requester.userId) throw new UserError(`You already requested exactly this (request #${o.id}, ${o.status}).`);
    }
    const row = await trx
      .insertInto('approval_requests')
      .values({
        action: v.params.action,
        params: stringifyJson(paramsToJson(v.params)),
        target_id: v.targetId,
        customer_id: v.customerId,
        customer_label: v.customerLabel,
        amount: v.amount?.amount ?? null,
        currency: v.amount?.currency ?? null,
        title: v.title,
        status,
        required_approvals: policy.required,
        policy_note: policy.note,
        requested_by: requester.userId,
        requested_by_name: requester.userName ?? null,
        requested_origin: stringifyJson(requester),
        requested_at: now,
        expires_at: expiresAt,
        approved_at: policy.required === 0 ? now : null,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const stored = await loadRow(trx, row.id);
    if (!stored) throw new Error('approval request vanished inside its own transaction');
    await recordAudit(
      trx,
      {
        actor: actorOf(requester),
        action: 'approval.requested',
        entity: { type: 'approval_request', id: row.id.toString() },
        after: { ...summaryOf(stored), status: 'pending', params: paramsToJson(v.params), expires_at: expiresAt.toISOString(), policy_note: policy.note },
        source: 'slack',
        context: contextOf(requester),
      },
      { now: () => now },
    );
    if (policy.required === 0) {
      await insertOutbox(trx, row.id, v.params.action, now);
      await recordAudit(
        trx,
        {
          actor: { kind: 'system', id: 'approval_policy' },
          action: 'approval.approved',
          entity: { type: 'approval_request', id: row.id.toString() },
          before: { status: 'pending' },
          after: { status: 'approved', required_approvals: 0, approvers: [], automatic: true },
          source: 'system',
          context: { rule: `approvals.policies.${v.params.action}` },
        },
        { now: () => now },
      );
    }
    return row.id;
  });
  return loadView(deps.db, id);
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

export type DecideOutcome = 'approved' | 'approval_recorded' | 'rejected' | 'refused';

/** Why a decision on a request that is no longer pending cannot happen, in words. */
function notPending(r: RequestRow, approvers: readonly string[]): string {
  const ref = `Request #${r.id}`;
  const by = approvers.length ? ` by ${approvers.map(mention).join(' and ')}` : ' automatically (within policy)';
  switch (r.status) {
    case 'approved':
    case 'executing':
      return `${ref} was already approved${by}; it is being executed.`;
    case 'executed':
      return `${ref} was already approved${by} and executed${r.executed_at ? ` at ${when(r.executed_at)}` : ''}.`;
    case 'failed':
      return `${ref} was already approved${by}; executing it failed (${r.last_error ?? 'unknown error'}).`;
    case 'rejected':
      return `${ref} was already rejected by ${mention(r.rejected_by)}${r.rejected_at ? ` at ${when(r.rejected_at)}` : ''}: ${r.rejection_reason ?? ''}`.trim();
    case 'expired':
      return `${ref} expired at ${when(r.expires_at)}; nothing was done. Ask for a new one if it is still needed.`;
    default:
      return `${ref} is ${r.status}.`;
  }
}

export async function decide(
  deps: ApprovalDeps,
  input: { requestId: string; decision: 'approve' | 'reject'; reason?: string; actor: SlackOrigin },
): Promise<{ outcome: DecideOutcome; message: string; request: ApprovalRequestView }> {
  const actor = requireOrigin(input.actor);
  const id = requireRequestId(input.requestId);
  if (input.decision !== 'approve' && input.decision !== 'reject') throw new UserError(`"${String(input.decision)}" is not a decision (approve or reject).`);
  const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
  if (input.decision === 'reject') {
    if (!reason) throw new ApprovalInputError('Say why it is rejected (the requester sees it).', 'reason');
    if (reason.length > MAX_NOTE_LENGTH) throw new ApprovalInputError(`The reason is ${reason.length} characters; keep it to ${MAX_NOTE_LENGTH}.`, 'reason');
  }
  const first = await loadRow(deps.db, id);
  if (!first) throw new UserError(`There is no approval request #${id}.`);
  const own = first.requested_by === actor.userId;
  // Slack lookups happen before the row is locked; the role does not depend on the row.
  const isApprover = await deps.roles(actor.userId, 'approver');

  const refused = async (message: string) => ({ outcome: 'refused' as const, message, request: await loadView(deps.db, id) });
  if (input.decision === 'approve') {
    if (own) return refused(`You requested this, so you cannot approve it: another approver has to.`);
    if (!isApprover) return refused('Only approvers (roles.approver or roles.admin in billops.yml) can approve money actions.');
  } else if (!own && !isApprover) {
    return refused('Only approvers (roles.approver or roles.admin in billops.yml), or the requester withdrawing it, can reject a request.');
  }

  const res = await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now();
    const row = await loadRow(trx, id, true);
    if (!row) throw new UserError(`There is no approval request #${id}.`);
    const decisions = await trx.selectFrom('approval_decisions').select(['user_id', 'decision']).where('request_id', '=', id).orderBy('decided_at').execute();
    const approvers = decisions.filter((d) => d.decision === 'approve').map((d) => d.user_id);
    if (row.status !== 'pending') return { outcome: 'refused' as const, message: notPending(row, approvers) };
    const audit = { entity: { type: 'approval_request', id: id.toString() }, source: 'slack', context: contextOf(actor) };
    if (row.expires_at.getTime() <= now.getTime()) {
      await expireRow(trx, row, now);
      return { outcome: 'refused' as const, message: notPending({ ...row, status: 'expired' }, approvers) };
    }
    if (input.decision === 'approve' && approvers.includes(actor.userId)) {
      return { outcome: 'refused' as const, message: `You already approved request #${id}; it needs a second approver, someone other than you and the requester.` };
    }
    await trx
      .insertInto('approval_decisions')
      .values({
        request_id: id,
        user_id: actor.userId,
        user_name: actor.userName ?? null,
        decision: input.decision,
        reason: reason || null,
        origin: stringifyJson(actor),
        decided_at: now,
      })
      .onConflict((oc) => oc.columns(['request_id', 'user_id']).doNothing())
      .execute();

    if (input.decision === 'reject') {
      await trx
        .updateTable('approval_requests')
        .set({ status: 'rejected', rejected_by: actor.userId, rejection_reason: reason, rejected_at: now, updated_at: now, version: sql`version + 1` })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .execute();
      await recordAudit(
        trx,
        {
          actor: actorOf(actor),
          action: 'approval.rejected',
          ...audit,
          before: { status: 'pending', approvers },
          after: { status: 'rejected', reason, withdrawn_by_requester: own },
        },
        { now: () => now },
      );
      return { outcome: 'rejected' as const, message: own ? `You withdrew request #${id}; nothing was done.` : `Rejected request #${id}; nothing was done. The requester is told why.` };
    }

    const nowApproved = [...approvers, actor.userId];
    const complete = nowApproved.length >= row.required_approvals;
    if (complete) {
      await trx
        .updateTable('approval_requests')
        .set({ status: 'approved', approved_at: now, updated_at: now, version: sql`version + 1` })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .execute();
      await insertOutbox(trx, id, row.action as ApprovalAction, now);
    } else {
      await trx.updateTable('approval_requests').set({ updated_at: now, version: sql`version + 1` }).where('id', '=', id).execute();
    }
    await recordAudit(
      trx,
      {
        actor: actorOf(actor),
        action: complete ? 'approval.approved' : 'approval.approval_recorded',
        ...audit,
        before: { status: 'pending', approvers },
        after: { status: complete ? 'approved' : 'pending', approvers: nowApproved, required_approvals: row.required_approvals },
      },
      { now: () => now },
    );
    if (complete) return { outcome: 'approved' as const, message: `Approved request #${id}: ${row.title}. It is being executed.` };
    const left = row.required_approvals - nowApproved.length;
    return { outcome: 'approval_recorded' as const, message: `Your approval of request #${id} is recorded; ${left === 1 ? 'one more approver' : `${left} more approvers`} (not the requester, not you) needed.` };
  });
  return { ...res, request: await loadView(deps.db, id) };
}

/** Marks one locked pending request expired and audits it. */
async function expireRow(trx: Kysely<Database>, row: RequestRow, now: Date): Promise<boolean> {
  const res = await trx
    .updateTable('approval_requests')
    .set({ status: 'expired', updated_at: now, version: sql`version + 1` })
    .where('id', '=', row.id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) return false;
  await recordAudit(
    trx,
    {
      actor: { kind: 'system', id: 'approval_expiry' },
      action: 'approval.expired',
      entity: { type: 'approval_request', id: row.id.toString() },
      before: { status: 'pending' },
      after: { status: 'expired', expires_at: row.expires_at.toISOString() },
      source: 'system',
    },
    { now: () => now },
  );
  return true;
}

/** Pending requests past their expiry become `expired` (audited); returns them. */
export async function expireRequests(deps: ApprovalDeps): Promise<ApprovalRequestView[]> {
  const now = deps.clock.now();
  const ids = await deps.db.transaction().execute(async (trx) => {
    const due = await sql<RequestRow>`
      select * from approval_requests where status = 'pending' and expires_at <= ${now}
      order by id for update skip locked`.execute(trx);
    const expired: bigint[] = [];
    for (const row of due.rows) if (await expireRow(trx, row, now)) expired.push(row.id);
    return expired;
  });
  if (ids.length === 0) return [];
  const rows = (await sql<RequestRow>`select * from approval_requests where id = any(${ids.map(String)}::bigint[]) order by id`.execute(deps.db)).rows;
  return viewsOf(deps.db, rows);
}

/** A failed request back to the outbox: by an approver, an admin, or its requester. */
export async function retryRequest(
  deps: ApprovalDeps,
  input: { requestId: string; actor: SlackOrigin },
): Promise<{ outcome: 'queued' | 'refused'; message: string; request: ApprovalRequestView }> {
  const actor = requireOrigin(input.actor);
  const id = requireRequestId(input.requestId);
  const first = await loadRow(deps.db, id);
  if (!first) throw new UserError(`There is no approval request #${id}.`);
  const allowed = first.requested_by === actor.userId || (await deps.roles(actor.userId, 'approver'));
  if (!allowed) {
    return { outcome: 'refused', message: 'Only the requester or an approver (roles.approver or roles.admin) can retry a request.', request: await loadView(deps.db, id) };
  }
  const res = await deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now();
    const row = await loadRow(trx, id, true);
    if (!row) throw new UserError(`There is no approval request #${id}.`);
    if (row.status !== 'failed') {
      const approvers = (await trx.selectFrom('approval_decisions').select('user_id').where('request_id', '=', id).where('decision', '=', 'approve').execute()).map(
        (d) => d.user_id,
      );
      const message =
        row.status === 'pending'
          ? `Request #${id} has not been approved yet.`
          : row.status === 'approved' || row.status === 'executing'
            ? `Request #${id} is already queued; there is nothing to retry.`
            : `${notPending(row, approvers)} There is nothing to retry.`;
      return { outcome: 'refused' as const, message };
    }
    await trx
      .updateTable('approval_requests')
      .set({ status: 'approved', next_attempt_at: now, updated_at: now, version: sql`version + 1` })
      .where('id', '=', id)
      .where('status', '=', 'failed')
      .execute();
    // attempts start over; first_attempt_at stays, so an old first attempt is still looked up in Stripe first
    await trx
      .updateTable('approval_outbox')
      .set({ status: 'queued', attempts: 0, next_attempt_at: now, locked_until: null, locked_by: null, updated_at: now })
      .where('request_id', '=', id)
      .execute();
    await insertOutbox(trx, id, row.action as ApprovalAction, now);
    await recordAudit(
      trx,
      {
        actor: actorOf(actor),
        action: 'approval.retry_requested',
        entity: { type: 'approval_request', id: id.toString() },
        before: { status: 'failed', last_error: row.last_error, attempts: row.attempts },
        after: { status: 'approved' },
        source: 'slack',
        context: contextOf(actor),
      },
      { now: () => now },
    );
    return { outcome: 'queued' as const, message: `Request #${id} is queued again: ${row.title}.` };
  });
  return { ...res, request: await loadView(deps.db, id) };
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

/** Pending requests this user may approve: not their own, not yet approved by them, not expired. */
export async function listAwaitingDecision(deps: ApprovalDeps, userId: string, limit = 20): Promise<ApprovalRequestView[]> {
  if (!(await deps.roles(userId, 'approver'))) return [];
  const now = deps.clock.now();
  const rows = await sql<RequestRow>`
    select r.* from approval_requests r
    where r.status = 'pending' and r.expires_at > ${now} and r.requested_by <> ${userId}
      and not exists (select 1 from approval_decisions d where d.request_id = r.id and d.user_id = ${userId})
    order by r.expires_at, r.id
    limit ${Math.max(1, Math.min(limit, 100))}`.execute(deps.db);
  return viewsOf(deps.db, rows.rows);
}

/** The requester's unfinished requests and those finished in the last 7 days, newest first. */
export async function listOpenRequestsBy(db: Kysely<Database>, userId: string, limit = 20, clock: Clock = systemClock): Promise<ApprovalRequestView[]> {
  const since = new Date(clock.now().getTime() - RECENT_MS);
  const rows = await sql<RequestRow>`
    select * from approval_requests
    where requested_by = ${userId} and (status = any(${[...OPEN_STATUSES]}::text[]) or updated_at >= ${since})
    order by id desc
    limit ${Math.max(1, Math.min(limit, 100))}`.execute(db);
  return viewsOf(db, rows.rows);
}

export { when as formatWhen };
