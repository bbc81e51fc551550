import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/index.js';
import { type Clock, systemClock } from '../util/index.js';
import { openCondition } from './service.js';

/** Open exceptions in one currency: how many and how much (absolute amounts, minor units). */
export interface OpenByCurrency {
  currency: string;
  count: number;
  amount: bigint;
}

export interface LastReconcileRun {
  id: bigint;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  triggeredBy: string;
  /** For a failed run: why (as recorded). */
  error: string | null;
  /** For a succeeded run: what it found. */
  matched: number | null;
  billingOnly: number | null;
  glOnly: number | null;
  exceptionsOpened: number | null;
  exceptionsAutoResolved: number | null;
}

/** The numbers a person wants first thing: how much is open, how old the oldest is, how the last run went. */
export interface QueueHeadline {
  /** Exceptions that need a person now (the `open` list). */
  openCount: number;
  byCurrency: OpenByCurrency[];
  /** When the oldest of them was opened; null when nothing is open. */
  oldestOpenedAt: Date | null;
  lastRun: LastReconcileRun | null;
}

interface RunRow {
  id: bigint;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  triggered_by: string;
  error: string | null;
  summary: unknown;
}

function count(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return null;
}

function path(obj: unknown, ...keys: string[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function toRun(r: RunRow): LastReconcileRun {
  const summary = typeof r.summary === 'string' ? (JSON.parse(r.summary) as unknown) : r.summary;
  return {
    id: r.id,
    status: r.status as LastReconcileRun['status'],
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    triggeredBy: r.triggered_by,
    error: r.error,
    matched: count(path(summary, 'billing', 'matched', 'count')),
    billingOnly: count(path(summary, 'billing', 'billingOnly', 'count')),
    glOnly: count(path(summary, 'gl', 'glOnly', 'count')),
    exceptionsOpened: count(path(summary, 'exceptions', 'opened')),
    exceptionsAutoResolved: count(path(summary, 'exceptions', 'autoResolved')),
  };
}

/** Headline numbers for the Home tab: three small aggregate queries, whatever the size of the queue. */
export async function queueHeadline(db: Kysely<Database>, clock: Clock = systemClock): Promise<QueueHeadline> {
  const now = clock.now();
  const open = openCondition(now);
  const sums = await sql<{ currency: string; n: bigint; total: bigint; oldest: Date }>`
    select e.currency, count(*) as n, sum(abs(e.amount))::bigint as total, min(e.opened_at) as oldest
    from exceptions e where ${open} group by e.currency order by e.currency`.execute(db);
  const runs = await sql<RunRow>`
    select id, status, started_at, finished_at, duration_ms, triggered_by, error, summary
    from reconciliation_runs order by started_at desc, id desc limit 1`.execute(db);
  let oldest: Date | null = null;
  for (const r of sums.rows) if (oldest === null || r.oldest.getTime() < oldest.getTime()) oldest = r.oldest;
  const last = runs.rows[0];
  return {
    openCount: sums.rows.reduce((a, r) => a + Number(r.n), 0),
    byCurrency: sums.rows.map((r) => ({ currency: r.currency, count: Number(r.n), amount: BigInt(r.total) })),
    oldestOpenedAt: oldest,
    lastRun: last ? toRun(last) : null,
  };
}
