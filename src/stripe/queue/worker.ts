import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../db/index.js';
import { type Clock, type Logger, silentLogger, systemClock } from '../../util/index.js';
import { type EventsOutcome, processStripeEvents } from '../process-event.js';

/** An event a worker has claimed: nobody else takes it until `locked_until` passes. */
export interface ClaimedEvent {
  id: string;
  type: string;
  payload: unknown;
  /** Attempts including this one. */
  attempts: number;
}

export interface ClaimOptions {
  now: Date;
  limit: number;
  visibilityTimeoutMs: number;
  /** Written into `locked_by`; only the holder of the claim may finish the event. */
  token: string;
}

/**
 * Claim up to `limit` due events. `FOR UPDATE SKIP LOCKED` lets any number of replicas claim at once
 * without waiting on or double-taking each other's rows. A claim is a lease: if the worker dies the
 * row stays `processing` until `locked_until`, and then it is due again for anyone.
 */
export async function claimEvents(db: Kysely<Database>, opts: ClaimOptions): Promise<ClaimedEvent[]> {
  const lockedUntil = new Date(opts.now.getTime() + opts.visibilityTimeoutMs);
  return db.transaction().execute(async (trx) => {
    // Walk the queue index in order and stop after `limit` rows. Without statistics (a new table,
    // or one autovacuum has not analyzed yet) the planner would rather collect every due row with a
    // bitmap scan and sort them — and bitmap scans never mark dead index entries, so each claim
    // would step over every event processed since the last vacuum.
    await sql`set local enable_bitmapscan = off`.execute(trx);
    await sql`set local enable_sort = off`.execute(trx);
    const res = await sql<ClaimedEvent>`
      with due as (
        select id from stripe_events
        where status in ('pending', 'processing')
          and next_attempt_at <= ${opts.now}
          and (locked_until is null or locked_until <= ${opts.now})
        order by next_attempt_at, id
        limit ${opts.limit}
        for update skip locked
      )
      update stripe_events e
      set status = 'processing', attempts = e.attempts + 1, locked_until = ${lockedUntil}, locked_by = ${opts.token}
      from due where e.id = due.id
      returning e.id, e.type, e.payload, e.attempts`.execute(trx);
    // Any order is fine: the version rule makes events commute.
    return res.rows;
  });
}

export type ProcessEvents = (db: Kysely<Database>, payloads: readonly unknown[], syncedAt: Date) => Promise<EventsOutcome>;

export interface StripeEventWorkerOptions {
  db: Kysely<Database>;
  clock?: Clock;
  logger?: Logger;
  /** Events claimed per round trip. */
  batchSize?: number;
  /** Claim loops running side by side in this process. */
  concurrency?: number;
  /** Sleep when the queue is empty. */
  pollIntervalMs?: number;
  /** After a wake() (an event was just stored), wait this long to claim, so deliveries batch up. */
  wakeDelayMs?: number;
  /** Lease on a claimed event; a crashed worker's events are retried after it. */
  visibilityTimeoutMs?: number;
  /** After this many failed attempts an event is dead-lettered (`failed`). */
  maxAttempts?: number;
  /** Wait before attempt n+1 after n failures. */
  backoffMs?: (failedAttempts: number) => number;
  /** The event-processing function (tests wrap it to inject failures). */
  process?: ProcessEvents;
}

export interface WorkerStats {
  processed: number;
  ignored: number;
  /** Failed attempts that will be retried. */
  retried: number;
  /** Events dead-lettered after the last attempt. */
  failed: number;
  /** Events whose lease ran out while being processed (another worker finishes them). */
  lostClaims: number;
}

class LostClaimError extends Error {
  override readonly name = 'LostClaimError';
}

/** 1 s, 2 s, 4 s … capped at one hour. */
export function defaultBackoffMs(failedAttempts: number): number {
  return Math.min(3_600_000, 1000 * 2 ** Math.max(0, failedAttempts - 1));
}

/**
 * Processes the Stripe event queue: claims a batch, applies it in one transaction (set-based
 * normalization + marking the events processed commit together), retries failures with backoff and
 * dead-letters after `maxAttempts`. Safe to run in every replica.
 *
 * A batch commits as a whole because a commit per event is what limits throughput on a small
 * machine; if anything in the batch fails, it is rolled back and each event is retried alone, in
 * its own transaction, so a poison event fails (and is dead-lettered) by itself.
 */
export class StripeEventWorker {
  readonly stats: WorkerStats = { processed: 0, ignored: 0, retried: 0, failed: 0, lostClaims: 0 };
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly visibilityTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: (n: number) => number;
  private readonly process: ProcessEvents;
  private running = false;
  private loops: Promise<void>[] = [];
  private sleepers = new Set<() => void>();
  private readonly wakeDelayMs: number;
  private wakeTimer: NodeJS.Timeout | undefined;

  constructor(opts: StripeEventWorkerOptions) {
    this.db = opts.db;
    this.clock = opts.clock ?? systemClock;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'stripe-worker' });
    this.batchSize = opts.batchSize ?? 50;
    this.concurrency = opts.concurrency ?? 2;
    this.pollIntervalMs = opts.pollIntervalMs ?? 500;
    this.visibilityTimeoutMs = opts.visibilityTimeoutMs ?? 60_000;
    this.maxAttempts = opts.maxAttempts ?? 10;
    this.backoffMs = opts.backoffMs ?? defaultBackoffMs;
    this.process = opts.process ?? processStripeEvents;
    this.wakeDelayMs = opts.wakeDelayMs ?? 20;
  }

  /** Start the claim loops in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = Array.from({ length: this.concurrency }, () => this.loop());
  }

  /** Stop claiming; resolves when the events in hand are finished. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeNow();
    await Promise.all(this.loops);
    this.loops = [];
  }

  /**
   * Cut a poll sleep short (this replica just stored an event). The loops wake `wakeDelayMs` later,
   * so a burst of deliveries is claimed as one batch rather than one claim per delivery.
   */
  wake(): void {
    if (this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeNow();
    }, this.wakeDelayMs);
  }

  private wakeNow(): void {
    for (const w of this.sleepers) w();
    this.sleepers.clear();
  }

  /** Claim one batch and process it; returns how many events were claimed. */
  async runOnce(): Promise<number> {
    const token = randomUUID();
    const claimed = await claimEvents(this.db, {
      now: this.clock.now(),
      limit: this.batchSize,
      visibilityTimeoutMs: this.visibilityTimeoutMs,
      token,
    });
    if (claimed.length > 1 && (await this.handleBatch(claimed, token))) return claimed.length;
    for (const ev of claimed) await this.handle(ev, token);
    return claimed.length;
  }

  /** Process until no event is due (events waiting out a backoff stay). */
  async drain(): Promise<WorkerStats> {
    while ((await this.runOnce()) > 0) {
      // keep going
    }
    return { ...this.stats };
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let n = 0;
      try {
        n = await this.runOnce();
      } catch (err) {
        this.logger.error({ err }, 'claiming Stripe events failed; retrying after the poll interval');
      }
      if (!this.running) break;
      // A part batch means the queue is about empty: let the next one fill up a little.
      if (n === 0) await this.sleep(this.pollIntervalMs);
      else if (n < this.batchSize) await this.sleep(this.wakeDelayMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /** The whole batch in one transaction; false (rolled back) if anything in it failed. */
  private async handleBatch(batch: readonly ClaimedEvent[], token: string): Promise<boolean> {
    const now = this.clock.now();
    try {
      const outcomes = await this.db.transaction().execute(async (trx) => {
        const result = await this.process(trx, batch.map((e) => e.payload), now);
        const rows = batch.map((e, i) => {
          const o = result.events[i];
          if (!o) throw new Error(`no outcome for event ${e.id}`);
          return sql`(${e.id}, ${o.status}, ${o.note})`;
        });
        const done = await sql`
          update stripe_events e
          set status = v.status, note = v.note, processed_at = ${now}, locked_until = null, locked_by = null, last_error = null
          from (values ${sql.join(rows)}) as v (id, status, note)
          where e.id = v.id and e.locked_by = ${token}`.execute(trx);
        // A lease ran out and someone else holds an event now: roll back and go one by one.
        if (done.numAffectedRows !== BigInt(batch.length)) throw new LostClaimError(`${batch.length - Number(done.numAffectedRows ?? 0n)} events`);
        return result.events;
      });
      for (const o of outcomes) this.stats[o.status]++;
      return true;
    } catch (err) {
      this.logger.debug({ err, events: batch.length }, 'Stripe event batch rolled back; processing its events one by one');
      return false;
    }
  }

  private async handle(ev: ClaimedEvent, token: string): Promise<void> {
    const now = this.clock.now();
    try {
      const outcome = await this.db.transaction().execute(async (trx) => {
        const result = (await this.process(trx, [ev.payload], now)).events[0];
        if (!result) throw new Error(`no outcome for event ${ev.id}`);
        const done = await trx
          .updateTable('stripe_events')
          .set({ status: result.status, processed_at: now, locked_until: null, locked_by: null, last_error: null, note: result.note })
          .where('id', '=', ev.id)
          .where('locked_by', '=', token)
          .executeTakeFirst();
        // The lease ran out and someone else holds the event now: roll back, they will apply it.
        if (done.numUpdatedRows === 0n) throw new LostClaimError(ev.id);
        return result;
      });
      this.stats[outcome.status]++;
    } catch (err) {
      if (err instanceof LostClaimError) {
        this.stats.lostClaims++;
        this.logger.warn({ event: ev.id }, 'lease on a Stripe event ran out while processing it; left to the new holder');
        return;
      }
      const dead = ev.attempts >= this.maxAttempts;
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.logger[dead ? 'error' : 'warn'](
        { err, event: ev.id, type: ev.type, attempts: ev.attempts },
        dead ? 'Stripe event failed for the last time; dead-lettered' : 'Stripe event failed; will retry',
      );
      try {
        await this.db
          .updateTable('stripe_events')
          .set({
            status: dead ? 'failed' : 'pending',
            next_attempt_at: new Date(now.getTime() + this.backoffMs(ev.attempts)),
            last_error: message.slice(0, 2000),
            locked_until: null,
            locked_by: null,
          })
          .where('id', '=', ev.id)
          .where('locked_by', '=', token)
          .execute();
        this.stats[dead ? 'failed' : 'retried']++;
      } catch (bookkeeping) {
        // The lease still runs out, so the event is retried anyway.
        this.logger.error({ err: bookkeeping, event: ev.id }, 'could not record a failed Stripe event');
      }
    }
  }
}
