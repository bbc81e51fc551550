import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { type Db } from '../../src/db/index.js';
import { type ExceptionView, assign, getException, listExceptions, reopen, resolve, snooze } from '../../src/exceptions/index.js';
import { reconcile } from '../../src/matching/index.js';
import { processStripeEvents } from '../../src/stripe/index.js';
import { UserError } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { insertBillingRecords, insertGlEntries } from '../support/recon.js';
import { DAY, event, invoice, toWire, unix } from '../support/stripe-fixtures.js';

/**
 * An exception's life across reconciliation runs and people: opened by a run, worked in Slack,
 * auto-resolved when the data explains it, reopened when the condition comes back — every step in
 * the audit log, and two people acting at once never both winning.
 */

const config = testConfig();
const alice = { kind: 'slack_user' as const, id: 'U0ALICE01', name: 'Alice' };
const bob = { kind: 'slack_user' as const, id: 'U0BOB0002', name: 'Bob' };
let db: TestDb;
let clock: ManualClock;

function run(o: { from?: string; to?: string } = {}) {
  return reconcile(db.db, { file: config.file, matching: config.file.matching, clock, actor: { kind: 'scheduler', id: 'reconcile' }, source: 'scheduler', ...o });
}

async function reset(): Promise<void> {
  // no `restart identity`: the audit log (append-only, never truncated) names exceptions by id
  await sql`truncate recon_match_groups, recon_pair_batches, reconciliation_runs, exceptions, recon_billing_records, recon_state, gl_entries, gl_imports,
    stripe_invoices, stripe_invoice_lines cascade`.execute(db.db);
}

async function only(): Promise<ExceptionView> {
  const page = await listExceptions(db.db, { status: 'all', clock });
  expect(page.total).toBe(1);
  return page.items[0] as ExceptionView;
}

const charge = (n: number, date = '2026-10-05') => ({
  key: `charge:ch_1QLifecycle${String(n).padStart(13, '0')}`,
  kind: 'charge',
  refs: [`ch_1QLifecycle${String(n).padStart(13, '0')}`],
  amount: 125_000n,
  currency: 'USD',
  date,
  customerName: 'Globex Corporation',
});
const glFor = (n: number, date = '2026-10-06') => ({
  key: `gl-ch-${n}`,
  account: 'Stripe Clearing',
  amount: 125_000n,
  currency: 'USD',
  date,
  stripeIds: [`ch_1QLifecycle${String(n).padStart(13, '0')}`],
});

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.cleanup();
});
beforeEach(async () => {
  await reset();
  clock = new ManualClock('2026-11-02T07:00:00Z');
});

describe('exception lifecycle across runs', () => {
  it('a resolved exception stays resolved when the next runs still see the condition', async () => {
    await insertBillingRecords(db.db, [charge(1)]);
    await run();
    const opened = await only();
    expect([opened.kind, opened.status]).toEqual(['missing_in_gl', 'open']);
    await resolve(db.db, opened.id, { code: 'written_off', note: 'Test-mode charge created in live by mistake; no GL entry needed.', actor: alice, clock });

    for (let i = 0; i < 2; i++) {
      clock.advanceDays(1);
      const s = await run();
      expect(s.exceptions).toMatchObject({ opened: 0, reopened: 0, autoResolved: 0, updated: 0 });
    }
    const after = await only();
    expect(after).toMatchObject({ status: 'resolved', resolutionCode: 'written_off', resolvedBy: 'U0ALICE01', version: opened.version + 1 });
  });

  it('an exception whose record is matched later is auto-resolved, whoever was working it', async () => {
    await insertBillingRecords(db.db, [charge(2)]);
    await run();
    const e = await only();
    await assign(db.db, e.id, { to: 'U0BOB0002', actor: alice, clock });

    // the bookkeeper posts the missing line; the next run matches it
    await insertGlEntries(db.db, [glFor(2)], 'gl-2026-10-late.csv');
    clock.advanceDays(1);
    const s = await run();
    expect(s.exceptions).toMatchObject({ opened: 0, autoResolved: 1, active: 0 });
    expect(await only()).toMatchObject({ status: 'auto_resolved', resolvedBy: 'billops', assignee: 'U0BOB0002' });
    expect((await listExceptions(db.db, { clock })).total).toBe(0);
  });

  it('a condition that comes back reopens the auto-resolved exception', async () => {
    // a send_invoice invoice; the customer's card was declined on the hosted page, the due date passes
    const inv = invoice({
      id: 'in_1QLifecycleDueDate00001',
      number: 'ACME-2001',
      customer: 'cus_1QLifecycleCustomer0001',
      customer_name: 'Initech LLC',
      collection_method: 'send_invoice',
      status: 'open',
      total: 480_000,
      amount_due: 480_000,
      attempt_count: 1,
      attempted: true,
      created: unix('2026-10-01T09:00:00Z'),
      due_date: unix('2026-10-15T00:00:00Z'),
    });
    const at = (iso: string) => new Date(iso);
    await processStripeEvents(db.db, [toWire(event('invoice.finalized', inv, { created: unix('2026-10-01T09:00:00Z') }))], at('2026-10-01T09:00:05Z'));
    // the invoice itself is booked in A/R, so the only question is the payment
    await insertGlEntries(db.db, [{ key: 'gl-inv-2001', account: 'Accounts Receivable (A/R)', amount: 480_000n, currency: 'USD', date: '2026-10-01', invoiceNumbers: ['ACME-2001'] }]);
    clock.set('2026-10-16T07:00:00Z');
    await run();
    const e = (await listExceptions(db.db, { kind: 'failed_payment', status: 'all', clock })).items[0];
    expect(e).toMatchObject({ kind: 'failed_payment', status: 'open', amount: 480_000n, reference: 'ACME-2001' });

    // finance agrees a promise to pay: the due date moves to 30 Oct
    await processStripeEvents(
      db.db,
      [toWire(event('invoice.updated', { ...inv, due_date: unix('2026-10-30T00:00:00Z') }, { created: unix('2026-10-16T10:00:00Z') }))],
      at('2026-10-16T10:00:05Z'),
    );
    clock.set('2026-10-17T07:00:00Z');
    const resolved = await run();
    expect(resolved.exceptions).toMatchObject({ autoResolved: 1 });
    expect((await getException(db.db, e?.id ?? 0n, { clock })).status).toBe('auto_resolved');

    // the new date passes unpaid: the same exception comes back, not a new one
    clock.set('2026-10-31T07:00:00Z');
    const back = await run();
    expect(back.exceptions).toMatchObject({ opened: 0, reopened: 1, active: 1 });
    const again = await getException(db.db, e?.id ?? 0n, { clock });
    expect(again).toMatchObject({ id: e?.id, status: 'reopened', kind: 'failed_payment' });
    expect((await listExceptions(db.db, { clock })).items.map((x) => x.id)).toEqual([e?.id]);
  });

  it('a run limited to a date window leaves exceptions about records outside it alone', async () => {
    await insertBillingRecords(db.db, [charge(3, '2026-09-10')]);
    await run();
    const e = await only();
    const windowed = await run({ from: '2026-10-01', to: '2026-10-31' });
    expect(windowed.exceptions).toMatchObject({ autoResolved: 0, reopened: 0, active: 1 });
    expect(await only()).toMatchObject({ id: e.id, status: 'open', version: e.version });
  });

  it('every transition, by a person or a run, is in the audit log with before and after', async () => {
    await insertBillingRecords(db.db, [charge(4)]);
    await run();
    const e = await only();
    await assign(db.db, e.id, { to: 'U0BOB0002', actor: alice, clock, context: { channel: 'C0123DIG1' } });
    await snooze(db.db, e.id, { until: new Date(clock.now().getTime() + 3 * DAY * 1000), actor: bob, clock });
    await resolve(db.db, e.id, { code: 'posted_in_gl', note: 'Posted in JE-1107.', actor: bob, clock });
    await reopen(db.db, e.id, { note: 'JE-1107 was reversed.', actor: alice, clock });
    await insertGlEntries(db.db, [glFor(4)], 'gl-2026-10-late.csv');
    clock.advanceDays(1);
    await run();

    const trail = (await listAudit(db.db, { entity: { type: 'exception', id: e.id.toString() } })).map((a) => ({
      action: a.action,
      actor: a.actor.id,
      before: (a.before as { status?: string } | null)?.status ?? null,
      after: (a.after as { status?: string }).status,
      source: a.source,
    }));
    expect(trail).toEqual([
      { action: 'exception.opened', actor: 'reconcile', before: null, after: 'open', source: 'scheduler' },
      { action: 'exception.assigned', actor: 'U0ALICE01', before: 'open', after: 'assigned', source: 'slack' },
      { action: 'exception.snoozed', actor: 'U0BOB0002', before: 'assigned', after: 'snoozed', source: 'slack' },
      { action: 'exception.resolved', actor: 'U0BOB0002', before: 'snoozed', after: 'resolved', source: 'slack' },
      { action: 'exception.reopened', actor: 'U0ALICE01', before: 'resolved', after: 'reopened', source: 'slack' },
      { action: 'exception.auto_resolved', actor: 'reconcile', before: 'reopened', after: 'auto_resolved', source: 'scheduler' },
    ]);
    const assigned = (await listAudit(db.db, { entity: { type: 'exception', id: e.id.toString() }, action: 'exception.assigned' }))[0];
    expect(assigned?.after).toMatchObject({ assignee: 'U0BOB0002' });
    expect(assigned?.context).toMatchObject({ channel: 'C0123DIG1', kind: 'missing_in_gl' });
  });
});

describe('two people acting on one exception at once', () => {
  it('two concurrent resolves: exactly one wins, the other is told who got there first, one audit entry', async () => {
    await insertBillingRecords(db.db, [1, 2, 3, 4, 5].map((n) => charge(100 + n)));
    await run();
    const items = (await listExceptions(db.db, { clock })).items;
    expect(items).toHaveLength(5);
    // a second connection pool: a second replica of billops (on PGlite the same single connection)
    const other: Db = await db.another();
    try {
      for (const e of items) {
        const results = await Promise.allSettled([
          resolve(db.db, e.id, { code: 'posted_in_gl', note: 'Booked in JE-1107.', actor: alice, clock }),
          resolve(other.db, e.id, { code: 'timing_difference', note: 'Will be in November.', actor: bob, clock }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        const winner = (won[0] as PromiseFulfilledResult<ExceptionView>).value;
        expect(lost[0]?.reason).toBeInstanceOf(UserError);
        expect((lost[0]?.reason as Error).message).toBe(
          `Exception #${e.id} was already resolved by <@${winner.resolvedBy}> at 2026-11-02 07:00 UTC (${winner.resolutionCode}).`,
        );
        const row = await getException(db.db, e.id, { clock });
        expect(row).toMatchObject({ status: 'resolved', resolvedBy: winner.resolvedBy, resolutionCode: winner.resolutionCode, version: e.version + 1 });
        expect(await listAudit(db.db, { entity: { type: 'exception', id: e.id.toString() }, action: 'exception.resolved' })).toHaveLength(1);
      }
    } finally {
      await other.close();
    }
  });

  it('an assignment made on a stale view is refused when someone changed the exception meanwhile', async () => {
    await insertBillingRecords(db.db, [charge(200)]);
    await run();
    const seen = await only();
    await assign(db.db, seen.id, { to: 'U0ALICE01', actor: alice, clock, expectedVersion: seen.version });
    await expect(assign(db.db, seen.id, { to: 'U0BOB0002', actor: bob, clock, expectedVersion: seen.version })).rejects.toThrow(
      `Exception #${seen.id} changed since you looked at it (now assigned to <@U0ALICE01>, last updated 2026-11-02 07:00 UTC). Reload it and try again.`,
    );
    expect(await only()).toMatchObject({ assignee: 'U0ALICE01', version: seen.version + 1 });
    expect(await listAudit(db.db, { entity: { type: 'exception', id: seen.id.toString() }, action: 'exception.assigned' })).toHaveLength(1);
  });
});
