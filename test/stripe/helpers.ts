import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/index.js';
import { EventIntake, NORMALIZED_TABLES, StripeEventWorker, type StripeEventWorkerOptions, stripeWebhookRoute } from '../../src/stripe/index.js';
import { type Clock, silentLogger, systemClock } from '../../src/util/index.js';
import { type TestApp, startTestApp } from '../support/app.js';
import { TEST_WEBHOOK_SECRET } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { type PostWebhookOptions, type WebhookResponse, postWebhook } from '../support/fake-stripe.js';

export interface WebhookHarness {
  app: TestApp;
  db: TestDb;
  url: string;
  intake: EventIntake;
  clock: Clock;
  /** Deliver an event the way Stripe does (signed with the endpoint's secret). */
  post(event: object | string, options?: PostWebhookOptions): Promise<WebhookResponse>;
  /** A queue worker on the test database (not started). */
  worker(opts?: Partial<StripeEventWorkerOptions>): StripeEventWorker;
  close(): Promise<void>;
}

/** billops over HTTP with the Stripe webhook route, on its own test database. */
export async function startWebhookHarness(opts: { clock?: Clock; db?: TestDb; toleranceSeconds?: number } = {}): Promise<WebhookHarness> {
  const db = opts.db ?? (await createTestDb());
  const clock = opts.clock ?? systemClock;
  const intake = new EventIntake(db.db);
  const route = stripeWebhookRoute({ intake, secret: TEST_WEBHOOK_SECRET, toleranceSeconds: opts.toleranceSeconds ?? 300, clock, logger: silentLogger });
  const app = await startTestApp({ db, routes: [route], clock });
  const url = `${app.baseUrl}/stripe/webhook`;
  return {
    app,
    db,
    url,
    intake,
    clock,
    post: (event, options) => postWebhook(url, event, TEST_WEBHOOK_SECRET, options),
    worker: (w = {}) => new StripeEventWorker({ db: db.db, clock, pollIntervalMs: 20, ...w }),
    async close() {
      await app.close();
      if (!opts.db) await db.cleanup();
    },
  };
}

export async function countRows(db: Kysely<Database>, table: keyof Database): Promise<number> {
  const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)}`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

/** Empties the Stripe tables (between delivery orders in one test). */
export async function clearStripeTables(db: Kysely<Database>): Promise<void> {
  for (const t of [...Object.values(NORMALIZED_TABLES), 'stripe_invoice_lines', 'stripe_events'] as const) {
    await sql`delete from ${sql.table(t)}`.execute(db);
  }
}

/**
 * Every normalized row (lines included), without the columns that say when billops wrote it, in a
 * stable order: two databases that hold the same Stripe state give equal snapshots.
 */
export async function snapshotNormalized(db: Kysely<Database>, opts: { keepVersion?: boolean } = {}): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  const drop = opts.keepVersion ? ['synced_at', 'changed_at'] : ['synced_at', 'changed_at', 'version_at', 'version_rank', 'version_event_id'];
  for (const t of [...Object.values(NORMALIZED_TABLES), 'stripe_invoice_lines'] as const) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(t)} order by id`.execute(db);
    out[t] = rows.rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !drop.includes(k))));
  }
  return out;
}
