import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/index.js';
import type { NormalizedTable } from '../tables.js';
import type { Row } from './common.js';

/** What happened to one object offered to a normalized table. */
export type WriteOutcome = 'inserted' | 'changed' | 'refreshed' | 'stale';

/**
 * Insert or replace rows of a normalized table, keeping the newest state of each object.
 *
 * The version rule: a stored row is replaced only when the offered version is greater, comparing
 * (version_at, version_rank, md5(raw)) in that order:
 *  1. version_at — the event's `created` (or the fetch time of an API read, "as of now"). Newer wins.
 *  2. version_rank — ties within Stripe's one-second resolution go to the object that is further
 *     along (an invoice `paid` beats `open` of the same second; more payment attempts beat fewer).
 *  3. md5 of the object's JSON — a last, arbitrary but deterministic tie-break, so two different
 *     states with the same second and rank end the same whichever arrives first.
 * Because this is a total order and a write only ever moves a row up it, replays and out-of-order
 * delivery end in the same row as in-order delivery. An equal version (a replay) writes nothing.
 * ("changed" in the outcome means the stored object changed: its changed_at moved in this write.)
 *
 * Columns absent from the rows (relations filled elsewhere, such as a balance transaction's
 * payout_id or an invoice's overdue_at) are left as they are. `changed_at` moves only when the
 * object itself differs, so re-reading the same data refreshes the version but "changes nothing".
 *
 * Rows for the same id within one call must already be reduced to one (see `newestPerId`).
 */
export async function upsertVersioned(db: Kysely<Database>, table: NormalizedTable, rows: readonly Row[]): Promise<Map<string, WriteOutcome>> {
  const outcome = new Map<string, WriteOutcome>();
  if (rows.length === 0) return outcome;
  const first = rows[0] as Row;
  const cols = Object.keys(first);
  const t = sql.table(table);
  const ids = rows.map((r) => r.id as string);
  const values = sql.join(rows.map((r) => sql`(${sql.join(cols.map((c) => r[c] ?? null))})`));
  const updates = sql.join(
    cols.filter((c) => c !== 'id' && c !== 'changed_at').map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`),
  );
  // The hash is only computed on a tie of the first two (CASE evaluates lazily), and "changed" is
  // read from changed_at rather than by comparing the stored JSON again.
  const res = await sql<{ id: string; inserted: boolean; changed: boolean }>`
    with old as (select id, changed_at from ${t} where id = any(${ids}::text[]))
    insert into ${t} (${sql.join(cols.map((c) => sql.ref(c)))}) values ${values}
    on conflict (id) do update set ${updates},
      changed_at = case when ${t}.raw is distinct from excluded.raw then excluded.synced_at else ${t}.changed_at end
    where case
      when (excluded.version_at, excluded.version_rank) <> (${t}.version_at, ${t}.version_rank)
        then (excluded.version_at, excluded.version_rank) > (${t}.version_at, ${t}.version_rank)
      else md5(excluded.raw::text) > md5(${t}.raw::text)
    end
    returning id,
      not exists (select 1 from old where old.id = ${t}.id) as inserted,
      not exists (select 1 from old where old.id = ${t}.id and old.changed_at = ${t}.changed_at) as changed`.execute(db);
  for (const r of res.rows) outcome.set(r.id, r.inserted ? 'inserted' : r.changed ? 'changed' : 'refreshed');
  for (const id of ids) if (!outcome.has(id)) outcome.set(id, 'stale');
  return outcome;
}

/** Several versions of one object in a batch: keep the greatest (same order as the SQL rule, md5 aside). */
export function newestPerId(rows: readonly Row[]): Row[] {
  const byId = new Map<string, Row>();
  for (const r of rows) {
    const id = r.id as string;
    const prev = byId.get(id);
    if (!prev || compareVersion(r, prev) >= 0) byId.set(id, r);
  }
  return [...byId.values()];
}

function compareVersion(a: Row, b: Row): number {
  const at = (a.version_at as Date).getTime() - (b.version_at as Date).getTime();
  if (at !== 0) return at;
  const ra = a.version_rank as bigint;
  const rb = b.version_rank as bigint;
  return ra === rb ? 0 : ra > rb ? 1 : -1;
}

