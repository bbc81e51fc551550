import type { Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { type Clock, stringifyJson, systemClock } from '../util/index.js';

export type ActorKind = 'slack_user' | 'cli' | 'system' | 'stripe' | 'scheduler';

export interface Actor {
  kind: ActorKind;
  /** Slack user id, OS user for the CLI, job name for the scheduler, event id for Stripe. */
  id: string;
  name?: string | undefined;
}

export interface AuditEntry {
  actor: Actor;
  /** Dotted verb, e.g. `exception.resolved`, `credit.requested`, `gl.imported`. */
  action: string;
  entity: { type: string; id: string };
  before?: unknown;
  after?: unknown;
  /** Where it came from: `slack`, `cli`, `webhook`, `scheduler`, `http`. */
  source: string;
  /** Slack team / channel / message ts, request id, file name … whatever places the action. */
  context?: Record<string, unknown>;
}

export const systemActor: Actor = { kind: 'system', id: 'billops' };

/**
 * Append one entry. Pass the transaction that makes the change, so the change and its audit entry
 * commit or roll back together.
 */
export async function recordAudit(db: Kysely<Database>, entry: AuditEntry, clock: Clock = systemClock): Promise<bigint> {
  const row = await db
    .insertInto('audit_log')
    .values({
      occurred_at: clock.now(),
      actor_kind: entry.actor.kind,
      actor_id: entry.actor.id,
      actor_name: entry.actor.name ?? null,
      action: entry.action,
      entity_type: entry.entity.type,
      entity_id: entry.entity.id,
      before: entry.before === undefined ? null : stringifyJson(entry.before),
      after: entry.after === undefined ? null : stringifyJson(entry.after),
      source: entry.source,
      context: stringifyJson(entry.context ?? {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Many entries in one statement (bulk operations such as an import or a reconcile run). */
export async function recordAuditMany(db: Kysely<Database>, entries: readonly AuditEntry[], clock: Clock = systemClock): Promise<void> {
  if (entries.length === 0) return;
  const at = clock.now();
  await db
    .insertInto('audit_log')
    .values(
      entries.map((entry) => ({
        occurred_at: at,
        actor_kind: entry.actor.kind,
        actor_id: entry.actor.id,
        actor_name: entry.actor.name ?? null,
        action: entry.action,
        entity_type: entry.entity.type,
        entity_id: entry.entity.id,
        before: entry.before === undefined ? null : stringifyJson(entry.before),
        after: entry.after === undefined ? null : stringifyJson(entry.after),
        source: entry.source,
        context: stringifyJson(entry.context ?? {}),
      })),
    )
    .execute();
}

export interface AuditQuery {
  from?: Date;
  to?: Date;
  entity?: { type: string; id?: string };
  action?: string;
  limit?: number;
}

export interface AuditRecord {
  id: bigint;
  occurredAt: Date;
  actor: Actor;
  action: string;
  entity: { type: string; id: string };
  before: unknown;
  after: unknown;
  source: string;
  context: unknown;
}

export async function listAudit(db: Kysely<Database>, q: AuditQuery = {}): Promise<AuditRecord[]> {
  let query = db.selectFrom('audit_log').selectAll().orderBy('id');
  if (q.from) query = query.where('occurred_at', '>=', q.from);
  if (q.to) query = query.where('occurred_at', '<', q.to);
  if (q.entity) {
    query = query.where('entity_type', '=', q.entity.type);
    if (q.entity.id) query = query.where('entity_id', '=', q.entity.id);
  }
  if (q.action) query = query.where('action', '=', q.action);
  if (q.limit) query = query.limit(q.limit);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    occurredAt: r.occurred_at,
    actor: { kind: r.actor_kind as ActorKind, id: r.actor_id, name: r.actor_name ?? undefined },
    action: r.action,
    entity: { type: r.entity_type, id: r.entity_id },
    before: r.before,
    after: r.after,
    source: r.source,
    context: r.context,
  }));
}
