import { type Kysely, sql } from 'kysely';
import Stripe from 'stripe';
import { type Actor, recordAudit } from '../audit/index.js';
import type { Database } from '../db/index.js';
import { type Clock, type Logger, UserError, silentLogger, systemClock } from '../util/index.js';
import { type NormalizeStats, type VersionedObject, addStats, isNormalizedObject, normalizeObjects } from './normalize/index.js';

interface ListParams {
  limit: number;
  starting_after?: string;
  created?: { gte: number };
  expand?: string[];
}

interface Listed {
  id: string;
  object?: string;
}

type Lister = (stripe: Stripe, params: ListParams) => AsyncIterable<Listed>;

/**
 * The list endpoints the backfill walks, in order. Lists come newest first, so a cursor
 * (`starting_after` the last object committed) resumes exactly where a run stopped.
 */
const LISTS: ReadonlyArray<{ resource: string; list: Lister }> = [
  { resource: 'customers', list: (s, p) => s.customers.list(p) },
  // The default hides canceled subscriptions; churn is exactly what billops needs to see.
  { resource: 'subscriptions', list: (s, p) => s.subscriptions.list({ ...p, status: 'all' }) },
  { resource: 'invoices', list: (s, p) => s.invoices.list(p) },
  { resource: 'charges', list: (s, p) => s.charges.list(p) },
  { resource: 'refunds', list: (s, p) => s.refunds.list(p) },
  { resource: 'disputes', list: (s, p) => s.disputes.list(p) },
  { resource: 'credit_notes', list: (s, p) => s.creditNotes.list(p) },
  { resource: 'payouts', list: (s, p) => s.payouts.list(p) },
  // With their sources, so a fee or FX amount is never without the charge / refund it belongs to.
  { resource: 'balance_transactions', list: (s, p) => s.balanceTransactions.list({ ...p, expand: ['data.source'] }) },
];

/** Last step: which automatic payout paid out which balance transactions (sets `payout_id`). */
const PAYOUT_MEMBERS = 'payout_members';

export const BACKFILL_STEPS: readonly string[] = [...LISTS.map((l) => l.resource), PAYOUT_MEMBERS];

/** Fixed key of the session advisory lock that keeps backfills from running twice at once. */
const BACKFILL_LOCK_KEY = 4_214_133_702;

export interface BackfillProgress {
  step: string;
  /** 0-based index of the step in BACKFILL_STEPS. */
  index: number;
  steps: number;
  /** Objects fetched (and committed) in this step so far, this run included earlier attempts. */
  fetched: number;
  changed: number;
  stepDone: boolean;
}

export interface BackfillOptions {
  db: Kysely<Database>;
  stripe: Stripe;
  /** Who ran it, for the audit log. */
  actor: Actor;
  source?: string;
  /** Only objects created at or after this moment. */
  since?: Date | undefined;
  pageSize?: number;
  /** A 429 is waited out this many times in a row before the run stops (resumable). */
  rateLimitRetries?: number;
  /** First wait after a 429; doubles each time, capped at a minute. A Retry-After header wins if longer. */
  rateLimitBaseMs?: number;
  /** Aborting stops the run after the page in hand is committed. */
  signal?: AbortSignal;
  onProgress?: (p: BackfillProgress) => void;
  clock?: Clock;
  logger?: Logger;
}

export interface BackfillResult {
  runId: bigint;
  resumed: boolean;
  steps: Record<string, { fetched: number; changed: number }>;
  stats: NormalizeStats;
  rateLimited: number;
}

/** The run stopped before the end; `billops stripe backfill` again resumes it. */
export class BackfillInterruptedError extends UserError {
  override readonly name: string = 'BackfillInterruptedError';
  constructor(
    readonly runId: bigint,
    readonly step: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Backfill run ${runId} stopped during ${step}: ${reason}. Run it again to resume where it stopped.`, options);
  }
}

function isRateLimit(err: unknown): err is Stripe.errors.StripeError {
  return err instanceof Stripe.errors.StripeRateLimitError || (err instanceof Stripe.errors.StripeError && err.statusCode === 429);
}

function retryAfterMs(err: Stripe.errors.StripeError): number {
  const h = err.headers?.['retry-after'];
  const s = typeof h === 'string' ? Number(h) : Number.NaN;
  return Number.isFinite(s) && s >= 0 ? s * 1000 : 0;
}

/**
 * Balance transactions an automatic payout paid out get its id (a relation Stripe gives only by
 * listing the payout's transactions; it moves `changed_at`, as any change of stored data does).
 * With `complete`, the payout is marked as fully listed.
 */
export async function recordPayoutMembers(
  db: Kysely<Database>,
  payoutId: string,
  transactionIds: readonly string[],
  at: Date,
  opts: { complete?: boolean } = {},
): Promise<void> {
  if (transactionIds.length > 0) {
    await db
      .updateTable('stripe_balance_transactions')
      .set({ payout_id: payoutId, changed_at: at })
      .where('id', 'in', [...transactionIds])
      .where('payout_id', 'is distinct from', payoutId)
      .execute();
  }
  if (opts.complete) await db.updateTable('stripe_payouts').set({ members_synced_at: at }).where('id', '=', payoutId).execute();
}

/** A balance transaction's expanded source is stored in its own table too (when billops keeps one). */
function expandedSources(object: Listed): unknown[] {
  const o = object as unknown as Record<string, unknown>;
  if (o.object !== 'balance_transaction' || typeof o.source !== 'object' || o.source === null) return [];
  return isNormalizedObject((o.source as { object?: unknown }).object) ? [o.source] : [];
}

/**
 * `billops stripe backfill`: walk Stripe's list endpoints (auto-pagination), write every object
 * through the same normalization as webhooks (as the newest state, fetched now), and save a
 * cursor with each page so an interrupted run resumes where it stopped. A 429 (which stripe-node
 * does not retry) is waited out with exponential backoff. Rerunning changes nothing that has not
 * changed in Stripe.
 */
export async function runBackfill(opts: BackfillOptions): Promise<BackfillResult> {
  // One connection for the whole run: it holds the advisory lock that keeps a second backfill out.
  return opts.db.connection().execute(async (db) => {
    const locked = await sql<{ ok: boolean }>`select pg_try_advisory_lock(${BACKFILL_LOCK_KEY}) as ok`.execute(db);
    if (!locked.rows[0]?.ok) throw new UserError('Another Stripe backfill is running; wait for it to finish.');
    try {
      return await new BackfillRun(opts, db).run();
    } finally {
      await sql`select pg_advisory_unlock(${BACKFILL_LOCK_KEY})`.execute(db);
    }
  });
}

type OnPage = (objects: Listed[], cursor: string | null, extra?: (trx: Kysely<Database>) => Promise<void>) => Promise<void>;

class BackfillRun {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly pageSize: number;
  private readonly retries: number;
  private readonly baseMs: number;
  private readonly since: Date | null;
  private rateLimited = 0;

  constructor(
    private readonly opts: BackfillOptions,
    private readonly db: Kysely<Database>,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'stripe-backfill' });
    this.pageSize = opts.pageSize ?? 100;
    this.retries = opts.rateLimitRetries ?? 8;
    this.baseMs = opts.rateLimitBaseMs ?? 1000;
    this.since = opts.since ?? null;
  }

  async run(): Promise<BackfillResult> {
    const { db, clock, opts, since } = this;
    const { runId, resumed } = await this.startOrResume();
    const cursors = new Map(
      (await db.selectFrom('stripe_backfill_cursors').selectAll().where('run_id', '=', runId).execute()).map((c) => [c.resource, c]),
    );
    const result: BackfillResult = { runId, resumed, steps: {}, stats: {}, rateLimited: 0 };
    let step = BACKFILL_STEPS[0] as string;
    try {
      for (const [index, name] of BACKFILL_STEPS.entries()) {
        step = name;
        const c = cursors.get(name);
        const counts = { fetched: Number(c?.fetched ?? 0), changed: Number(c?.changed ?? 0) };
        result.steps[name] = counts;
        const progress = (stepDone: boolean) => opts.onProgress?.({ step: name, index, steps: BACKFILL_STEPS.length, ...counts, stepDone });
        if (c?.done) {
          progress(true);
          continue;
        }
        progress(false);
        const onPage: OnPage = async (objects, cursor, extra) => {
          const page = await this.commitPage(runId, name, objects, cursor, extra);
          counts.fetched += objects.length;
          counts.changed += page.changed;
          addStats(result.stats, page.stats);
          progress(false);
        };
        if (name === PAYOUT_MEMBERS) await this.syncPayoutMembers(runId, c?.starting_after ?? null, onPage);
        else {
          const lister = LISTS.find((l) => l.resource === name)?.list as Lister;
          await this.walk(lister, { startAfter: c?.starting_after ?? null, applySince: true }, onPage);
        }
        await db
          .updateTable('stripe_backfill_cursors')
          .set({ done: true, updated_at: clock.now() })
          .where('run_id', '=', runId)
          .where('resource', '=', name)
          .execute();
        progress(true);
      }
    } catch (err) {
      result.rateLimited = this.rateLimited;
      const reason = opts.signal?.aborted ? 'interrupted' : err instanceof Error ? err.message : String(err);
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('stripe_backfill_runs').set({ status: 'interrupted', last_error: reason.slice(0, 2000) }).where('id', '=', runId).execute();
        await recordAudit(
          trx,
          {
            actor: opts.actor,
            action: 'stripe.backfill.interrupted',
            entity: { type: 'stripe_backfill_run', id: String(runId) },
            after: { step, reason, since: since?.toISOString() ?? null, steps: result.steps },
            source: opts.source ?? 'cli',
          },
          clock,
        );
      });
      this.logger.warn({ runId, step, reason }, 'Stripe backfill stopped; rerun to resume');
      throw new BackfillInterruptedError(runId, step, reason, { cause: err });
    }
    result.rateLimited = this.rateLimited;
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('stripe_backfill_runs').set({ status: 'completed', finished_at: clock.now(), last_error: null }).where('id', '=', runId).execute();
      await recordAudit(
        trx,
        {
          actor: opts.actor,
          action: 'stripe.backfill.completed',
          entity: { type: 'stripe_backfill_run', id: String(runId) },
          after: { since: since?.toISOString() ?? null, resumed, steps: result.steps, rate_limited: result.rateLimited },
          source: opts.source ?? 'cli',
        },
        clock,
      );
    });
    return result;
  }

  /** An unfinished run with the same `since` is resumed; otherwise a new run starts from the top. */
  private async startOrResume(): Promise<{ runId: bigint; resumed: boolean }> {
    const { clock, since } = this;
    return this.db.transaction().execute(async (trx) => {
      const open = await trx
        .selectFrom('stripe_backfill_runs')
        .select(['id', 'since'])
        .where('status', 'in', ['running', 'interrupted'])
        .orderBy('id', 'desc')
        .executeTakeFirst();
      if (open && (open.since?.getTime() ?? null) === (since?.getTime() ?? null)) {
        await trx.updateTable('stripe_backfill_runs').set({ status: 'running' }).where('id', '=', open.id).execute();
        return { runId: open.id, resumed: true };
      }
      // A different window abandons the unfinished run rather than mixing two.
      if (open) {
        await trx
          .updateTable('stripe_backfill_runs')
          .set({ status: 'interrupted', finished_at: clock.now(), last_error: 'abandoned for a run with another --since' })
          .where('id', '=', open.id)
          .execute();
      }
      const created = await trx
        .insertInto('stripe_backfill_runs')
        .values({ since, status: 'running', started_at: clock.now() })
        .returning('id')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('stripe_backfill_cursors')
        .values(BACKFILL_STEPS.map((resource) => ({ run_id: created.id, resource, starting_after: null, updated_at: clock.now() })))
        .execute();
      return { runId: created.id, resumed: false };
    });
  }

  /** One page: its objects and the cursor after it commit together. */
  private async commitPage(
    runId: bigint,
    resource: string,
    objects: Listed[],
    cursor: string | null,
    extra?: (trx: Kysely<Database>) => Promise<void>,
  ): Promise<{ changed: number; stats: NormalizeStats }> {
    return this.db.transaction().execute(async (trx) => {
      const fetchedAt = this.clock.now();
      const items: VersionedObject[] = [];
      for (const o of objects) {
        items.push({ object: o, version: { at: fetchedAt, eventId: null } });
        for (const source of expandedSources(o)) items.push({ object: source, version: { at: fetchedAt, eventId: null } });
      }
      const res = await normalizeObjects(trx, items, fetchedAt);
      if (extra) await extra(trx);
      const changed = objects.filter((o) => {
        const r = res.outcomes.get(o.id);
        return r === 'inserted' || r === 'changed';
      }).length;
      await trx
        .updateTable('stripe_backfill_cursors')
        .set((eb) => ({
          ...(cursor === null ? {} : { starting_after: cursor }),
          fetched: eb('fetched', '+', BigInt(objects.length)),
          changed: eb('changed', '+', BigInt(changed)),
          updated_at: fetchedAt,
        }))
        .where('run_id', '=', runId)
        .where('resource', '=', resource)
        .execute();
      return { changed, stats: res.stats };
    });
  }

  /**
   * Walk one list with stripe-node's auto-pagination, handing over pages of `pageSize` objects.
   * On a 429 the walk restarts after the last object received (those already in hand are kept).
   */
  private async walk(lister: Lister, where: { startAfter: string | null; applySince: boolean }, onPage: OnPage): Promise<void> {
    const { since, opts } = this;
    let after = where.startAfter;
    let buffer: Listed[] = [];
    let streak = 0;
    for (;;) {
      try {
        const iterable = lister(opts.stripe, {
          limit: this.pageSize,
          ...(after ? { starting_after: after } : {}),
          ...(since && where.applySince ? { created: { gte: Math.floor(since.getTime() / 1000) } } : {}),
        });
        for await (const obj of iterable) {
          buffer.push(obj);
          after = obj.id;
          if (buffer.length >= this.pageSize) {
            const page = buffer;
            buffer = [];
            await onPage(page, obj.id);
            streak = 0;
            if (opts.signal?.aborted) throw new Error('interrupted');
          }
        }
        if (buffer.length) await onPage(buffer, buffer[buffer.length - 1]?.id ?? null);
        return;
      } catch (err) {
        if (!isRateLimit(err)) throw err;
        if (streak >= this.retries) throw new Error(`Stripe still answered 429 (rate limited) after ${this.retries} waits`, { cause: err });
        const wait = Math.max(retryAfterMs(err), Math.min(60_000, this.baseMs * 2 ** streak));
        streak++;
        this.rateLimited++;
        this.logger.warn({ waitMs: wait, streak }, 'Stripe rate limit (429); waiting, then resuming the list after the last object received');
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  /**
   * For each automatic payout that is on its way or arrived and whose members are not known yet:
   * list its balance transactions and set their `payout_id`. Payouts are taken in id order, and
   * the cursor is the last payout finished.
   */
  private async syncPayoutMembers(runId: bigint, startAfter: string | null, onPage: OnPage): Promise<void> {
    let q = this.db
      .selectFrom('stripe_payouts')
      .select('id')
      .where('automatic', '=', true)
      .where('status', 'in', ['paid', 'in_transit'])
      .where('members_synced_at', 'is', null)
      .orderBy('id');
    if (startAfter) q = q.where('id', '>', startAfter);
    for (const { id: payoutId } of await q.execute()) {
      const lister: Lister = (s, p) => s.balanceTransactions.list({ ...p, payout: payoutId, expand: ['data.source'] });
      // A payout's members are listed whatever their creation date: `since` does not apply here.
      await this.walk(lister, { startAfter: null, applySince: false }, (objects) =>
        onPage(objects, null, (trx) =>
          recordPayoutMembers(
            trx,
            payoutId,
            objects.map((o) => o.id),
            this.clock.now(),
          ),
        ),
      );
      await this.db.transaction().execute(async (trx) => {
        await recordPayoutMembers(trx, payoutId, [], this.clock.now(), { complete: true });
        await trx
          .updateTable('stripe_backfill_cursors')
          .set({ starting_after: payoutId, updated_at: this.clock.now() })
          .where('run_id', '=', runId)
          .where('resource', '=', PAYOUT_MEMBERS)
          .execute();
      });
      if (this.opts.signal?.aborted) throw new Error('interrupted');
    }
  }
}
