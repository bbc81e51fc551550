import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../src/matching/index.js';
import { processStripeEvents } from '../../src/stripe/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { event, refund, toWire, unix } from '../support/stripe-fixtures.js';

/** What Stripe's own state changes do to the records billops expects in the GL. */

const config = testConfig();
let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.cleanup();
});

describe('billing records follow Stripe', () => {
  // A refund can fail after it succeeded (the card was closed): Stripe returns the money to the
  // balance, and there is nothing left to book. billops must stop expecting it in the GL.
  it('a refund that fails after it succeeded is no longer expected in the GL', async () => {
    const clock = new ManualClock('2026-10-12T06:00:00Z');
    const run = () => reconcile(db.db, { file: config.file, matching: config.file.matching, clock, actor: { kind: 'cli', id: 't' }, source: 'cli' });
    const r = refund({ id: 're_3QRefundThatFailedLater01', amount: 5000, charge: 'ch_3QChargeOfTheRefund00001', created: unix('2026-10-10T10:00:00Z') });
    await processStripeEvents(db.db, [toWire(event('refund.created', r, { created: unix('2026-10-10T10:00:00Z') }))], new Date('2026-10-10T10:00:05Z'));
    await run();
    expect((await sql`select kind, status from exceptions`.execute(db.db)).rows).toEqual([{ kind: 'missing_in_gl', status: 'open' }]);

    const failed = { ...r, status: 'failed', failure_reason: 'expired_or_canceled_card' };
    await processStripeEvents(db.db, [toWire(event('refund.failed', failed as typeof r, { created: unix('2026-10-11T08:00:00Z') }))], new Date('2026-10-12T05:00:00Z'));
    expect((await sql`select status from stripe_refunds`.execute(db.db)).rows).toEqual([{ status: 'failed' }]);
    clock.advance(3_600_000);
    await run();
    expect((await sql`select status, active from recon_billing_records where record_key = ${`refund:${r.id}`}`.execute(db.db)).rows).toEqual([
      { status: 'failed', active: false },
    ]);
    expect((await sql`select kind, status from exceptions`.execute(db.db)).rows).toEqual([{ kind: 'missing_in_gl', status: 'auto_resolved' }]);
  });
});
