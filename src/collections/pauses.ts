import { sql } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import { money } from '../money/index.js';
import { addDays, daysBetween, isDay, today } from './days.js';
import { OPEN_DISPUTE_STATUSES } from './sql.js';
import { type CollectionsDeps, CollectionsInputError, type CollectionsPause } from './types.js';

/**
 * Pauses hold an account's dunning: no step is performed for its invoices while one is in force.
 *
 * - A **promise to pay until a day** is set by a person (with a note), lasts through that day in
 *   org.timezone and lapses by itself the day after — no job needed; the collections job records the
 *   lapse in the audit log once. At most one is in force per customer: setting a new one replaces it.
 * - An **open dispute** (needs response / under review) on any of the customer's charges pauses the
 *   account for as long as Stripe says it is open; it is derived, never stored.
 *
 * When a pause ends, dunning resumes at the latest step that is due by then (the catch-up rule of
 * the engine): the customer gets one message, not every step they missed.
 */

export const MAX_PAUSE_NOTE_LENGTH = 2000;

/** Who sets or clears a pause, and from where (for the audit log). */
export interface PauseActor {
  actor: Actor;
  /** `slack`, `cli`, `demo` … */
  source: string;
  /** Slack team / channel / message ts, anything that places the action. */
  context?: Record<string, unknown>;
}

export interface PauseInput extends PauseActor {
  customerId: string;
  /** The last paused day, YYYY-MM-DD in org.timezone; dunning resumes the day after. */
  until: string;
  note: string;
}

export interface ClearPauseInput extends PauseActor {
  customerId: string;
  note?: string;
}

interface PauseRow {
  id: bigint;
  customer_id: string;
  until_day: string;
  note: string;
  set_by: string;
  set_by_name: string | null;
  created_at: Date;
}

function viewOf(r: PauseRow): CollectionsPause {
  return {
    kind: 'promise_to_pay',
    customerId: r.customer_id,
    until: r.until_day,
    note: r.note,
    setBy: { id: r.set_by, name: r.set_by_name },
    setAt: r.created_at,
    id: r.id.toString(),
  };
}

/**
 * A pause's last day as typed (YYYY-MM-DD): after today and at most `maxDays` ahead, in `timeZone`.
 * Throws a CollectionsInputError on the field `until` saying what is allowed.
 */
export function parsePauseUntil(text: string | null | undefined, timeZone: string, now: Date, maxDays: number): string {
  const t = (text ?? '').trim();
  if (!t) throw new CollectionsInputError('Say until which day the customer promised to pay (YYYY-MM-DD).', 'until');
  if (!isDay(t)) throw new CollectionsInputError(`"${t}" is not a date (YYYY-MM-DD).`, 'until');
  const day = today(timeZone, now);
  const ahead = daysBetween(day, t);
  if (ahead < 1) throw new CollectionsInputError(`Pick a day after today (${day}, ${timeZone}).`, 'until');
  if (ahead > maxDays) {
    throw new CollectionsInputError(`A promise to pay pauses dunning for at most ${maxDays} days: pick ${addDays(day, maxDays)} or earlier.`, 'until');
  }
  return t;
}

function noteOf(text: string | undefined, required: boolean): string | null {
  const n = (text ?? '').trim();
  if (!n) {
    if (required) throw new CollectionsInputError('Add a note: what did the customer promise, and who spoke to them?', 'note');
    return null;
  }
  if (n.length > MAX_PAUSE_NOTE_LENGTH) throw new CollectionsInputError(`The note is ${n.length} characters; at most ${MAX_PAUSE_NOTE_LENGTH}.`, 'note');
  return n;
}

async function customerExists(deps: CollectionsDeps, customerId: string): Promise<{ id: string; name: string | null }> {
  const id = customerId.trim();
  if (!id) throw new CollectionsInputError('Which customer? Give the Stripe customer id (cus_…).', 'customer');
  const row = await deps.db.selectFrom('stripe_customers').select(['id', 'name', 'deleted_at']).where('id', '=', id).executeTakeFirst();
  if (!row) throw new CollectionsInputError(`There is no customer ${id} in billops' copy of Stripe.`, 'customer');
  if (row.deleted_at) throw new CollectionsInputError(`Customer ${id} was deleted in Stripe.`, 'customer');
  return { id: row.id, name: row.name };
}

const isUniqueViolation = (err: unknown) => (err as { code?: string } | null)?.code === '23505';

/**
 * Pause an account's dunning until a day (promise to pay). Validated: the customer exists, the day is
 * after today and at most `collections.max_pause_days` ahead, a note is given. A pause already in force
 * is replaced (both in the audit log).
 */
export async function pauseCollections(deps: CollectionsDeps, input: PauseInput): Promise<CollectionsPause> {
  const now = deps.clock.now();
  const tz = deps.config.file.org.timezone;
  const customer = await customerExists(deps, input.customerId);
  const until = parsePauseUntil(input.until, tz, now, deps.config.file.collections.max_pause_days);
  const note = noteOf(input.note, true) as string;
  try {
    return await deps.db.transaction().execute(async (trx) => {
      const prior = await sql<PauseRow>`
        select * from collection_pauses where customer_id = ${customer.id} and cleared_at is null for update`.execute(trx);
      const old = prior.rows[0];
      if (old) {
        await trx
          .updateTable('collection_pauses')
          .set({ cleared_at: now, cleared_by: input.actor.id, clear_note: 'replaced by a new promise to pay' })
          .where('id', '=', old.id)
          .execute();
      }
      const row = await trx
        .insertInto('collection_pauses')
        .values({ customer_id: customer.id, until_day: until, note, set_by: input.actor.id, set_by_name: input.actor.name ?? null, source: input.source, created_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      const view = viewOf(row as unknown as PauseRow);
      await recordAudit(
        trx,
        {
          actor: input.actor,
          action: 'collections.paused',
          entity: { type: 'customer', id: customer.id },
          before: old ? { pause: 'promise_to_pay', pause_id: old.id.toString(), until: old.until_day, note: old.note } : { pause: null },
          after: { pause: 'promise_to_pay', pause_id: view.id, until, note, resumes_on: addDays(until, 1) },
          source: input.source,
          context: { ...(input.context ?? {}), customer_name: customer.name },
        },
        { now: () => now },
      );
      return view;
    });
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new CollectionsInputError(`Someone else paused ${customer.id} at the same moment; look at the account again before changing it.`, 'customer');
    }
    throw err;
  }
}

/** End a promise-to-pay pause before its day: dunning resumes on the next run at the latest due step. */
export async function clearCollectionsPause(deps: CollectionsDeps, input: ClearPauseInput): Promise<CollectionsPause> {
  const now = deps.clock.now();
  const day = today(deps.config.file.org.timezone, now);
  const customer = await customerExists(deps, input.customerId);
  const note = noteOf(input.note, false);
  return deps.db.transaction().execute(async (trx) => {
    const res = await sql<PauseRow>`
      select * from collection_pauses where customer_id = ${customer.id} and cleared_at is null and until_day >= ${day}::date for update`.execute(trx);
    const row = res.rows[0];
    if (!row) throw new CollectionsInputError(`${customer.name ?? customer.id} has no promise-to-pay pause in force.`, 'customer');
    await trx.updateTable('collection_pauses').set({ cleared_at: now, cleared_by: input.actor.id, clear_note: note }).where('id', '=', row.id).execute();
    await recordAudit(
      trx,
      {
        actor: input.actor,
        action: 'collections.pause_cleared',
        entity: { type: 'customer', id: customer.id },
        before: { pause: 'promise_to_pay', pause_id: row.id.toString(), until: row.until_day, note: row.note },
        after: { pause: null, note },
        source: input.source,
        context: { ...(input.context ?? {}), customer_name: customer.name },
      },
      { now: () => now },
    );
    return viewOf(row);
  });
}

/** What holds a customer's dunning now: a promise to pay in force and open disputes (for the account card). */
export async function listPauses(deps: Pick<CollectionsDeps, 'db' | 'config' | 'clock'>, customerId: string): Promise<CollectionsPause[]> {
  const day = today(deps.config.file.org.timezone, deps.clock.now());
  const [promises, disputes] = await Promise.all([
    sql<PauseRow>`
      select * from collection_pauses where customer_id = ${customerId} and cleared_at is null and until_day >= ${day}::date`.execute(deps.db),
    sql<{ id: string; status: string; amount: bigint; currency: string; evidence_due_by: Date | null }>`
      select d.id, d.status, d.amount, d.currency, d.evidence_due_by
      from stripe_charges c join stripe_disputes d on d.charge_id = c.id
      where c.customer_id = ${customerId} and d.status in (${sql.join(OPEN_DISPUTE_STATUSES)})
      order by d.created, d.id`.execute(deps.db),
  ]);
  return [
    ...promises.rows.map(viewOf),
    ...disputes.rows.map(
      (d): CollectionsPause => ({
        kind: 'dispute',
        customerId,
        until: null,
        note: null,
        setBy: null,
        setAt: null,
        id: d.id,
        dispute: { status: d.status, amount: money(d.amount, d.currency), evidenceDueBy: d.evidence_due_by },
      }),
    ),
  ];
}
