import { sql } from 'kysely';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile } from '../../src/matching/index.js';
import { processStripeEvents } from '../../src/stripe/index.js';
import { ManualClock } from '../support/clock.js';
import { insertGlEntries } from '../support/recon.js';
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

  // One-to-one matches are stored in batches; a record that changes leaves its batch and the
  // other pairs keep their match ids.
  it('a matched refund that fails dissolves its own match only; its GL line becomes an exception', async () => {
    await sql`truncate recon_match_groups, recon_pair_batches, reconciliation_runs, exceptions, recon_billing_records, recon_state,
      gl_entries, gl_imports, stripe_refunds restart identity cascade`.execute(db.db);
    const clock = new ManualClock('2026-10-20T06:00:00Z');
    const run = () => reconcile(db.db, { file: config.file, matching: config.file.matching, clock, actor: { kind: 'cli', id: 't' }, source: 'cli' });
    const refunds = ['re_3QBatchRefund000000001', 're_3QBatchRefund000000002', 're_3QBatchRefund000000003'].map((id, i) =>
      refund({ id, amount: 1000 * (i + 1), charge: `ch_3QBatchCharge00000000${i + 1}`, created: unix('2026-10-15T10:00:00Z') }),
    );
    await processStripeEvents(
      db.db,
      refunds.map((r) => toWire(event('refund.created', r, { created: unix('2026-10-15T10:00:00Z') }))),
      new Date('2026-10-15T10:00:05Z'),
    );
    await insertGlEntries(
      db.db,
      refunds.map((r, i) => ({ key: `gl-${i}`, account: 'Stripe Clearing', amount: BigInt(-r.amount), currency: 'USD', date: '2026-10-15', stripeIds: [r.id] })),
    );
    const first = await run();
    expect(first.rules.find((r) => r.rule === 'exact-reference')?.matches).toBe(3);
    const before = await sql<{ id: bigint; bid: string }>`
      select m.id, b.stripe_id as bid from recon_matches m join recon_billing_records b on b.id = m.billing_ids[1] order by b.stripe_id`.execute(db.db);
    expect(before.rows.map((r) => r.bid)).toEqual(refunds.map((r) => r.id));
    expect((await sql<{ n: bigint }>`select count(*) as n from recon_pair_batches`.execute(db.db)).rows[0]?.n).toBe(1n);

    const failed = { ...refunds[1]!, status: 'failed', failure_reason: 'expired_or_canceled_card' };
    await processStripeEvents(db.db, [toWire(event('refund.failed', failed as Stripe.Refund, { created: unix('2026-10-19T08:00:00Z') }))], new Date('2026-10-20T05:00:00Z'));
    clock.advance(3_600_000);
    const second = await run();
    const after = await sql<{ id: bigint; bid: string }>`
      select m.id, b.stripe_id as bid from recon_matches m join recon_billing_records b on b.id = m.billing_ids[1] order by b.stripe_id`.execute(db.db);
    // the two others keep their matches and ids; the failed refund's match is gone
    expect(after.rows).toEqual([before.rows[0], before.rows[2]]);
    const audit = await sql<{ before: { matches: Array<{ id: string }> } }>`select before from audit_log where action = 'matches.dissolved'`.execute(db.db);
    expect(audit.rows.map((r) => r.before.matches.map((m) => m.id))).toEqual([[String(before.rows[1]?.id)]]);
    // the GL still books a refund Stripe says failed: nothing in billing explains it any more
    expect(second.gl.glOnly.count).toBe(1);
    expect((await sql`select kind, reference from exceptions where status = 'open'`.execute(db.db)).rows).toEqual([
      { kind: 'missing_in_billing', reference: refunds[1]!.id },
    ]);
  });
});
