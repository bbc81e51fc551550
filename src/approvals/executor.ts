import { hostname } from 'node:os';
import { type Kysely, sql } from 'kysely';
import Stripe from 'stripe';
import { type Actor, recordAudit } from '../audit/index.js';
import type { Database } from '../db/index.js';
import { type ResolutionCode, getException, resolve as resolveException } from '../exceptions/index.js';
import { normalizeObjects } from '../stripe/index.js';
import { UserError, stringifyJson } from '../util/index.js';
import { checkCustomerBalance, recordCredit } from './ledger.js';
import { type RequestRow, loadView, paramsFromJson } from './requests.js';
import { type ApprovalStripe, type StripeLike, asApprovalStripe } from './stripe-actions.js';
import type { ActionParams, ApprovalDeps, ApprovalRequestView } from './types.js';

/**
 * The outbox executor. An approved request has exactly one outbox row (its primary key is the request
 * id); a run claims due rows with `FOR UPDATE SKIP LOCKED`, stamps a lease and commits, then makes the
 * Stripe call outside any transaction with the idempotency key `approval:<id>:<action>` and
 * `metadata.billops_approval_id`, and records the outcome in a second transaction. Whatever dies in
 * between — the process, the connection, Stripe's answer — the next attempt sends the same request
 * with the same key, and Stripe answers it with the first result instead of applying it again.
 * Stripe forgets keys after about 24 hours, so an attempt whose first try is older than that first
 * looks the object up in Stripe by its metadata (or state) and does not repeat what was done.
 */

/** Stripe keeps idempotency keys at least 24 h; past 23 h billops checks Stripe before repeating. */
export const IDEMPOTENCY_SAFE_MS = 23 * 3_600_000;

export type StripeSource = StripeLike | (() => StripeLike);

export interface OutboxDeps extends ApprovalDeps {
  stripe: StripeSource;
  onSettled?: ((r: ApprovalRequestView) => Promise<void>) | undefined;
  /** Names this replica in `locked_by`; default BILLOPS_REPLICA_ID or host:pid. */
  workerId?: string;
}

export interface OutboxRunResult {
  executed: number;
  failed: number;
  retried: number;
}

interface Claimed {
  request_id: bigint;
  action: string;
  idempotency_key: string;
  attempts: number;
  /** first_attempt_at before this claim: null on the very first attempt. */
  prev_first_attempt_at: Date | null;
}

const EXECUTOR: Actor = { kind: 'system', id: 'approval_executor' };

function workerIdOf(deps: OutboxDeps): string {
  return deps.workerId ?? deps.config.env.BILLOPS_REPLICA_ID ?? `${hostname()}:${process.pid}`;
}

/** Wait before attempt n+1 after n failed attempts: backoff_seconds doubling, capped. */
export function backoffMs(deps: ApprovalDeps, attempts: number): number {
  const e = deps.config.file.approvals.executor;
  const s = Math.min(e.max_backoff_seconds, e.backoff_seconds * 2 ** Math.max(0, attempts - 1));
  return s * 1000;
}

/** Whether trying again can help: Stripe's 5xx, 429, 409 (key in use), lost connections, timeouts, crashes. */
function transient(err: unknown): boolean {
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode ?? 0;
    if (err instanceof Stripe.errors.StripeConnectionError || err instanceof Stripe.errors.StripeAPIError) return true;
    if (err instanceof Stripe.errors.StripeRateLimitError || status === 429 || status === 409 || status >= 500) return true;
    return status === 0;
  }
  // a missing key, a crash in our own code, a dropped database connection: retried, then failed
  return true;
}

function errorText(err: unknown): string {
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode ? `Stripe ${err.statusCode}` : 'Stripe';
    return `${status}${err.code ? ` ${err.code}` : ''}: ${err.message}`.slice(0, 1000);
  }
  return (err instanceof Error ? err.message : String(err)).slice(0, 1000);
}

/** Claims due rows (queued and due, or running with an expired lease) and marks their requests executing. */
async function claim(deps: OutboxDeps, limit: number): Promise<Claimed[]> {
  const now = deps.clock.now();
  const lease = new Date(now.getTime() + deps.config.file.approvals.executor.lease_seconds * 1000);
  const me = workerIdOf(deps);
  return deps.db.transaction().execute(async (trx) => {
    const claimed = await sql<Claimed>`
      with due as (
        select request_id, first_attempt_at as prev_first_attempt_at from approval_outbox
        where (status = 'queued' and next_attempt_at <= ${now}) or (status = 'running' and locked_until <= ${now})
        order by next_attempt_at, request_id
        limit ${limit}
        for update skip locked
      )
      update approval_outbox o set status = 'running', attempts = o.attempts + 1, locked_until = ${lease}, locked_by = ${me},
        first_attempt_at = coalesce(o.first_attempt_at, ${now}), last_attempt_at = ${now}, updated_at = ${now}
      from due where o.request_id = due.request_id
      returning o.request_id, o.action, o.idempotency_key, o.attempts, due.prev_first_attempt_at`.execute(trx);
    for (const c of claimed.rows) {
      await trx
        .updateTable('approval_requests')
        .set({ status: 'executing', attempts: c.attempts, next_attempt_at: null, updated_at: now })
        .where('id', '=', c.request_id)
        .where('status', 'in', ['approved', 'executing'])
        .execute();
    }
    return claimed.rows.sort((a, b) => (a.request_id < b.request_id ? -1 : 1));
  });
}

/** What an action did, for the request row, the audit entry and billops' copy of Stripe. */
interface Performed {
  stripeObjectId: string | null;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  /** An object Stripe returned, written to billops' copy (subscriptions, invoices). */
  stripeObject?: unknown;
  credit?: { transactionId: string; endingBalance: bigint; currency: string };
  /** How it was established, when not by a call (found in Stripe by metadata). */
  note?: string;
}

function metadataFor(id: bigint, requestedBy: string): Record<string, string> {
  return { billops_approval_id: id.toString(), billops_requested_by: requestedBy };
}

async function perform(deps: OutboxDeps, row: RequestRow, c: Claimed, stripeOf: () => ApprovalStripe): Promise<Performed> {
  const p: ActionParams = paramsFromJson(row.params);
  const key = c.idempotency_key;
  const old = c.prev_first_attempt_at !== null && deps.clock.now().getTime() - c.prev_first_attempt_at.getTime() >= IDEMPOTENCY_SAFE_MS;
  const meta = metadataFor(row.id, row.requested_by);
  switch (p.action) {
    case 'credit': {
      const stripe = stripeOf();
      if (old) {
        const found = await stripe.findCustomerCredit(p.customerId, row.id.toString());
        if (found) {
          return {
            stripeObjectId: found.id,
            before: { balance: (found.endingBalance - found.amount).toString() },
            after: { balance: found.endingBalance.toString(), balance_transaction: found.id },
            credit: { transactionId: found.id, endingBalance: found.endingBalance, currency: found.currency },
            note: 'found in Stripe by metadata (first attempt older than the idempotency window); not repeated',
          };
        }
      }
      const description = `billops approval #${row.id}: ${p.reasonCode}`;
      const t = await stripe.createCustomerCredit(p.customerId, { amount: -p.amount, currency: p.currency, description, metadata: { ...meta, billops_reason: p.reasonCode } }, key);
      return {
        stripeObjectId: t.id,
        before: { balance: (t.endingBalance - t.amount).toString(), currency: t.currency },
        after: { balance: t.endingBalance.toString(), currency: t.currency, balance_transaction: t.id },
        credit: { transactionId: t.id, endingBalance: t.endingBalance, currency: t.currency },
      };
    }
    case 'extend_trial':
    case 'pause_collection':
    case 'resume_collection':
    case 'cancel_at_period_end':
    case 'undo_cancel': {
      const stripe = stripeOf();
      // Setting a subscription to a given state twice leaves it in that state: no lookup needed to stay
      // exactly-once, but an old attempt that already landed is not sent again.
      const current = await stripe.retrieveSubscription(p.subscriptionId);
      const state = (s: typeof current) => ({
        status: s.status,
        trial_end: s.trialEnd?.toISOString() ?? null,
        pause_collection: s.pause ? { behavior: s.pause.behavior, resumes_at: s.pause.resumesAt?.toISOString() ?? null } : null,
        cancel_at_period_end: s.cancelAtPeriodEnd,
      });
      if (old && current.metadata.billops_approval_id === row.id.toString()) {
        return { stripeObjectId: current.id, before: {}, after: state(current), stripeObject: current.raw, note: 'found in Stripe by metadata; not repeated' };
      }
      const change =
        p.action === 'extend_trial'
          ? { trialEnd: p.trialEnd, metadata: meta }
          : p.action === 'pause_collection'
            ? { pause: { behavior: p.behavior, resumesAt: p.resumesAt }, metadata: meta }
            : p.action === 'resume_collection'
              ? { pause: null, metadata: meta }
              : { cancelAtPeriodEnd: p.action === 'cancel_at_period_end', metadata: meta };
      const updated = await stripe.updateSubscription(p.subscriptionId, change, key);
      return { stripeObjectId: updated.id, before: state(current), after: state(updated), stripeObject: updated.raw };
    }
    case 'void_invoice':
    case 'mark_uncollectible': {
      const stripe = stripeOf();
      const target = p.action === 'void_invoice' ? 'void' : 'uncollectible';
      if (old) {
        // Stripe's void / mark_uncollectible take no metadata: the state says whether it happened.
        const current = await stripe.retrieveInvoice(p.invoiceId);
        if (current.status === target) {
          return { stripeObjectId: current.id, before: {}, after: { status: current.status }, stripeObject: current.raw, note: `already ${target} in Stripe; not repeated` };
        }
      }
      const inv = p.action === 'void_invoice' ? await stripe.voidInvoice(p.invoiceId, key) : await stripe.markInvoiceUncollectible(p.invoiceId, key);
      return { stripeObjectId: inv.id, before: { status: 'open' }, after: { status: inv.status }, stripeObject: inv.raw };
    }
    case 'resolve_exception': {
      const ex = await getException(deps.db, p.exceptionId, { clock: deps.clock });
      const approvers = await deps.db.selectFrom('approval_decisions').select('user_id').where('request_id', '=', row.id).where('decision', '=', 'approve').execute();
      const before = { status: ex.status, assignee: ex.assignee };
      if (ex.status === 'resolved' && ex.resolvedBy === row.requested_by && ex.resolutionCode === p.resolutionCode && ex.resolvedAt && row.approved_at && ex.resolvedAt >= row.approved_at) {
        // an earlier attempt resolved it and died before recording that
        return { stripeObjectId: null, before, after: { status: ex.status, resolution_code: ex.resolutionCode }, note: 'already resolved by an earlier attempt' };
      }
      const done = await resolveException(deps.db, p.exceptionId, {
        actor: { kind: 'slack_user', id: row.requested_by, ...(row.requested_by_name ? { name: row.requested_by_name } : {}) },
        source: 'approval',
        code: p.resolutionCode as ResolutionCode,
        note: p.note,
        clock: deps.clock,
        context: { approval_request_id: row.id.toString(), approved_by: approvers.map((a) => a.user_id) },
      });
      return { stripeObjectId: null, before, after: { status: done.status, resolution_code: done.resolutionCode } };
    }
  }
}

/** Records an outcome if this claim still holds (a replica that took over after our lease wins). */
async function settle(
  deps: OutboxDeps,
  c: Claimed,
  row: RequestRow,
  outcome: { ok: true; performed: Performed } | { ok: false; error: unknown },
): Promise<'executed' | 'failed' | 'retried' | 'lost'> {
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.clock.now();
    const held = await sql<{ request_id: bigint }>`
      select request_id from approval_outbox where request_id = ${c.request_id} and status = 'running' and attempts = ${c.attempts} for update`.execute(trx);
    if (held.rows.length === 0) return 'lost';
    const entity = { type: 'approval_request', id: row.id.toString() };
    const context = { idempotency_key: c.idempotency_key, attempt: c.attempts, worker: workerIdOf(deps) };
    if (outcome.ok) {
      const p = outcome.performed;
      await trx.updateTable('approval_outbox').set({ status: 'done', locked_until: null, last_error: null, updated_at: now }).where('request_id', '=', c.request_id).execute();
      await trx
        .updateTable('approval_requests')
        .set({
          status: 'executed',
          stripe_object_id: p.stripeObjectId,
          executed_at: now,
          next_attempt_at: null,
          last_error: null,
          result: stringifyJson({ before: p.before, after: p.after, ...(p.note ? { note: p.note } : {}) }),
          updated_at: now,
          version: sql`version + 1`,
        })
        .where('id', '=', row.id)
        .execute();
      const params = paramsFromJson(row.params);
      if (p.credit && params.action === 'credit') {
        await recordCredit(trx, { row, params, transactionId: p.credit.transactionId, endingBalance: p.credit.endingBalance, stripeCurrency: p.credit.currency, at: now });
      }
      await recordAudit(
        trx,
        {
          actor: EXECUTOR,
          action: 'approval.executed',
          entity,
          before: { status: 'executing', ...p.before },
          after: { status: 'executed', stripe_object_id: p.stripeObjectId, ...p.after, ...(p.note ? { note: p.note } : {}) },
          source: 'system',
          context,
        },
        { now: () => now },
      );
      if (p.credit && params.action === 'credit') {
        await checkCustomerBalance(trx, deps, params.customerId, { amount: p.credit.endingBalance, currency: p.credit.currency });
      }
      return 'executed';
    }
    const message = errorText(outcome.error);
    const max = deps.config.file.approvals.executor.max_attempts;
    const retry = transient(outcome.error) && c.attempts < max;
    const next = retry ? new Date(now.getTime() + backoffMs(deps, c.attempts)) : null;
    await trx
      .updateTable('approval_outbox')
      .set({ status: retry ? 'queued' : 'failed', next_attempt_at: next ?? now, locked_until: null, last_error: message, updated_at: now })
      .where('request_id', '=', c.request_id)
      .execute();
    await trx
      .updateTable('approval_requests')
      .set({ status: retry ? 'approved' : 'failed', next_attempt_at: next, last_error: message, updated_at: now, version: sql`version + 1` })
      .where('id', '=', row.id)
      .execute();
    await recordAudit(
      trx,
      {
        actor: EXECUTOR,
        action: retry ? 'approval.attempt_failed' : 'approval.failed',
        entity,
        before: { status: 'executing' },
        after: { status: retry ? 'approved' : 'failed', error: message, attempts: c.attempts, ...(next ? { next_attempt_at: next.toISOString() } : {}) },
        source: 'system',
        context,
      },
      { now: () => now },
    );
    return retry ? 'retried' : 'failed';
  });
}

/** A Stripe client from what was given, built on first use (resolving exceptions needs none). */
function lazyStripe(source: StripeSource): () => ApprovalStripe {
  let built: ApprovalStripe | undefined;
  return () => {
    built ??= asApprovalStripe(typeof source === 'function' ? source() : source);
    return built;
  };
}

/**
 * One pass of the executor: claims up to `limit` due requests and carries each out. Calls `onSettled`
 * for every request whose status changed (executed, failed, or retry scheduled).
 */
export async function runOutbox(deps: OutboxDeps, opts: { limit?: number } = {}): Promise<OutboxRunResult> {
  const result: OutboxRunResult = { executed: 0, failed: 0, retried: 0 };
  const claimed = await claim(deps, opts.limit ?? deps.config.file.approvals.executor.batch_size);
  const stripeOf = lazyStripe(deps.stripe);
  for (const c of claimed) {
    const row = (await sql<RequestRow>`select * from approval_requests where id = ${c.request_id}`.execute(deps.db)).rows[0];
    if (!row) continue;
    let outcome: { ok: true; performed: Performed } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, performed: await perform(deps, row, c, stripeOf) };
    } catch (error) {
      if (!(error instanceof UserError) && !(error instanceof Stripe.errors.StripeError)) {
        deps.logger.warn({ err: error, requestId: row.id.toString() }, 'approval execution attempt crashed');
      }
      outcome = { ok: false, error };
    }
    const settled = await settle(deps, c, row, outcome);
    if (settled === 'lost') {
      deps.logger.warn({ requestId: row.id.toString() }, 'approval outcome not recorded: another replica took the request over after the lease ran out');
      continue;
    }
    result[settled === 'executed' ? 'executed' : settled === 'failed' ? 'failed' : 'retried']++;
    if (outcome.ok && outcome.performed.stripeObject !== undefined) await refreshLocalCopy(deps, outcome.performed.stripeObject);
    if (deps.onSettled) {
      try {
        await deps.onSettled(await loadView(deps.db, row.id));
      } catch (err) {
        deps.logger.error({ err, requestId: row.id.toString() }, 'approval onSettled hook failed');
      }
    }
  }
  return result;
}

/** Writes what Stripe returned to billops' copy at once (the webhook that follows changes nothing). */
async function refreshLocalCopy(deps: OutboxDeps, object: unknown): Promise<void> {
  try {
    const at = deps.clock.now();
    await deps.db.transaction().execute((trx) => normalizeObjects(trx, [{ object, version: { at, eventId: null } }], at));
  } catch (err) {
    deps.logger.warn({ err }, 'could not update the local copy of a Stripe object after an approved action; the webhook will');
  }
}

export interface OutboxWorker {
  nudge(): void;
  stop(): Promise<void>;
  /** Resolves when no run is in flight (tests). */
  idle(): Promise<void>;
}

/**
 * The in-process outbox worker, one per replica: runs every `pollMs` and at once on `nudge()`.
 * SKIP LOCKED keeps replicas from taking the same request.
 */
export function startOutboxWorker(deps: OutboxDeps & { pollMs?: number }): OutboxWorker {
  const pollMs = deps.pollMs ?? deps.config.file.approvals.executor.poll_interval_ms;
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  const waiters: Array<() => void> = [];

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, ms);
    timer.unref?.();
  };
  const tick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        do {
          again = false;
          const res = await runOutbox(deps);
          // a full batch means there may be more
          if (res.executed + res.failed + res.retried >= deps.config.file.approvals.executor.batch_size) again = true;
        } while (again && !stopped);
      } catch (err) {
        deps.logger.error({ err }, 'approval outbox run failed');
      } finally {
        running = null;
        for (const w of waiters.splice(0)) w();
        schedule(pollMs);
      }
    })();
  };
  tick();
  return {
    nudge() {
      if (stopped) return;
      if (running) again = true;
      else tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (running) await running;
    },
    idle() {
      if (!running) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}
