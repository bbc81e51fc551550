import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/index.js';
import type { StripeEventSource } from './tables.js';

/** An event as it arrives, before it is queued. */
export interface IncomingEvent {
  id: string;
  type: string;
  apiVersion: string | null;
  /** Stripe's `created`, unix seconds. */
  created: number;
  /** `data.object.id`, when the object has one. */
  objectId?: string | null;
  livemode: boolean;
  /** The event JSON exactly as received (stored as jsonb; never re-serialized on the way). */
  payload: string;
  receivedAt: Date;
  source: StripeEventSource;
}

const COLUMNS = ['id', 'type', 'api_version', 'created', 'object_id', 'livemode', 'payload', 'received_at', 'source', 'next_attempt_at'] as const;

/**
 * Insert events into the log / queue in one statement; an id already there is left alone. Returns
 * the ids that were new. When this resolves the rows are committed (or were already there).
 */
export async function insertEvents(db: Kysely<Database>, events: readonly IncomingEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const values = events.map(
    (e) =>
      sql`(${e.id}, ${e.type}, ${e.apiVersion}, ${new Date(e.created * 1000)}, ${e.objectId ?? null}, ${e.livemode}, ${e.payload}::jsonb, ${e.receivedAt}, ${e.source}, ${e.receivedAt})`,
  );
  const res = await sql<{ id: string }>`
    insert into stripe_events (${sql.join(COLUMNS.map((c) => sql.ref(c)))})
    values ${sql.join(values)}
    on conflict (id) do nothing
    returning id`.execute(db);
  return new Set(res.rows.map((r) => r.id));
}

export interface EventIntakeOptions {
  /** Most events written by one statement. */
  maxBatch?: number;
  /**
   * Statements in flight at once. One by default: everything that arrives while a statement runs
   * goes into the next, so under load the batches grow instead of the round trips (and commits).
   */
  maxInFlight?: number;
  /** Called after new events were committed (wakes this replica's worker). */
  onStored?: () => void;
}

interface Waiting {
  event: IncomingEvent;
  resolve: (inserted: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * The webhook's path to the database: a tiny group commit. A request arriving while earlier ones
 * are being written waits for the next statement, which takes everything that queued up meanwhile;
 * under light load each event is written alone at once, under heavy load many share one commit.
 * Every caller is answered only after the statement holding its event has committed.
 */
export class EventIntake {
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  private readonly onStored: (() => void) | undefined;
  private idle: Array<() => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    opts: EventIntakeOptions = {},
  ) {
    this.maxBatch = opts.maxBatch ?? 200;
    this.maxInFlight = opts.maxInFlight ?? 1;
    this.onStored = opts.onStored;
  }

  /** Resolves true when the event is new, false when it was already stored; rejects if not stored. */
  store(event: IncomingEvent): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ event, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is waiting or being written. */
  async settled(): Promise<void> {
    if (this.inFlight === 0 && this.waiting.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight++;
      void this.write(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.waiting.length === 0) {
          const idle = this.idle;
          this.idle = [];
          for (const f of idle) f();
        }
      });
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    // One row per id in a statement; a redelivery racing its original is answered like a duplicate.
    const unique = new Map<string, IncomingEvent>();
    for (const w of batch) if (!unique.has(w.event.id)) unique.set(w.event.id, w.event);
    let inserted: Set<string>;
    try {
      inserted = await insertEvents(this.db, [...unique.values()]);
    } catch (err) {
      if (unique.size === 1) {
        for (const w of batch) w.reject(err);
        return;
      }
      // One bad row (say, JSON that jsonb refuses) must not fail its neighbours: write them one by one.
      await Promise.all([...unique.keys()].map((id) => this.write(batch.filter((w) => w.event.id === id))));
      return;
    }
    if (inserted.size > 0) this.onStored?.();
    const answered = new Set<string>();
    for (const w of batch) {
      const isNew = inserted.has(w.event.id) && !answered.has(w.event.id);
      answered.add(w.event.id);
      w.resolve(isNew);
    }
  }
}
