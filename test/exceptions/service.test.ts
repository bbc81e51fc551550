import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import {
  type ExceptionView,
  MAX_NOTE_LENGTH,
  assign,
  exceptionDigest,
  getException,
  listExceptions,
  reopen,
  resolve,
  snooze,
} from '../../src/exceptions/index.js';
import { reconcile } from '../../src/matching/index.js';
import { UserError } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { insertBillingRecords, insertGlEntries } from '../support/recon.js';

/**
 * The exception queue as the finance analyst works it each morning: the list in the order to work
 * it, filters, paging, and each action with its guard rails. Bad input changes nothing.
 */

const config = testConfig();
const alice = { kind: 'slack_user' as const, id: 'U0ALICE01' };
const bob = { kind: 'slack_user' as const, id: 'U0BOB0002' };
let db: TestDb;
let clock: ManualClock;

/** Billing-only records (missing in GL) of different sizes and ages, plus one GL-only line. */
async function seed(): Promise<void> {
  const rec = (n: number, amount: bigint, date: string, customer: string, currency = 'USD') => ({
    key: `charge:ch_1QService${String(n).padStart(15, '0')}`,
    kind: 'charge',
    refs: [`ch_1QService${String(n).padStart(15, '0')}`],
    amount,
    currency,
    date,
    customerId: `cus_1Q${customer.padEnd(22, '0')}`,
    customerName: customer,
  });
  await insertBillingRecords(db.db, [
    rec(1, 750_000n, '2026-10-30', 'Globex'), // $7,500: critical
    rec(2, 12_000n, '2026-10-31', 'Initech'), // $120: medium
    rec(3, 2_500n, '2026-11-01', 'Initech'), // $25: low
    rec(4, 150_000n, '2026-10-31', 'Hooli'), // $1,500: high
    rec(5, 600_000n, '2026-10-29', 'Hooli'), // $6,000: critical, smaller than #1
    rec(6, 300_000n, '2026-11-01', 'Wayne', 'EUR'), // €3,000 (no rate configured: medium)
    rec(7, 50_000n, '2026-11-01', 'Tokyo Kogyo', 'JPY'), // ¥50,000 (about $335; no rate configured: medium)
  ]);
  await insertGlEntries(db.db, [{ key: 'gl-wire', account: 'Stripe Clearing', amount: 99_000n, currency: 'USD', date: '2026-10-31', customerName: 'Umbrella Corp' }]);
  await reconcile(db.db, { file: config.file, matching: config.file.matching, clock, actor: { kind: 'scheduler', id: 'reconcile' }, source: 'scheduler' });
}

async function byRef(n: number): Promise<ExceptionView> {
  const all = await listExceptions(db.db, { status: 'all', pageSize: 100, clock });
  const e = all.items.find((x) => x.stripeId === `ch_1QService${String(n).padStart(15, '0')}`);
  if (!e) throw new Error(`no exception for record ${n}`);
  return e;
}

async function unchanged<T>(action: () => Promise<T>, id: bigint): Promise<unknown> {
  const before = (await sql`select * from exceptions where id = ${id}`.execute(db.db)).rows;
  const audit = (await listAudit(db.db, { entity: { type: 'exception', id: id.toString() } })).length;
  const err = await action().then(
    () => null,
    (e: unknown) => e,
  );
  expect((await sql`select * from exceptions where id = ${id}`.execute(db.db)).rows).toEqual(before);
  expect(await listAudit(db.db, { entity: { type: 'exception', id: id.toString() } })).toHaveLength(audit);
  return err;
}

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.cleanup();
});
beforeEach(async () => {
  await sql`truncate recon_match_groups, recon_pair_batches, reconciliation_runs, exceptions, recon_billing_records, recon_state, gl_entries, gl_imports cascade`.execute(db.db);
  clock = new ManualClock('2026-11-02T07:00:00Z');
  await seed();
});

describe('listing the queue', () => {
  it('orders critical first, then the biggest amounts, and pages through them', async () => {
    const all = await listExceptions(db.db, { clock });
    expect(all.total).toBe(8);
    // amounts compare in major units: ¥50,000 is 50,000 yen, not 500 "cents"
    expect(all.items.map((e) => `${e.severity} ${e.amount} ${e.currency} ${e.customerName}`)).toEqual([
      'critical 750000 USD Globex',
      'critical 600000 USD Hooli',
      'high 150000 USD Hooli',
      'medium 50000 JPY Tokyo Kogyo',
      'medium 300000 EUR Wayne',
      'medium 99000 USD Umbrella Corp',
      'medium 12000 USD Initech',
      'low 2500 USD Initech',
    ]);
    const page2 = await listExceptions(db.db, { clock, page: 2, pageSize: 3 });
    expect({ total: page2.total, page: page2.page, pages: page2.pages }).toEqual({ total: 8, page: 2, pages: 3 });
    expect(page2.items.map((e) => e.id)).toEqual(all.items.slice(3, 6).map((e) => e.id));
    expect((await listExceptions(db.db, { clock, page: 4, pageSize: 3 })).items).toEqual([]);
  });

  it('with the configured rates, amounts in different currencies compare by what they are worth', async () => {
    const fx = { reportingCurrency: 'USD', rates: { EUR: '1.08', JPY: '0.0067' } };
    const medium = (await listExceptions(db.db, { clock, fx })).items.filter((e) => e.severity === 'medium');
    expect(medium.map((e) => `${e.amount} ${e.currency}`)).toEqual(['300000 EUR', '99000 USD', '50000 JPY', '12000 USD']);
  });

  it('filters by kind, customer and assignee, and "mine" is what is open and assigned to me', async () => {
    expect((await listExceptions(db.db, { clock, kind: 'missing_in_billing' })).items.map((e) => e.customerName)).toEqual(['Umbrella Corp']);
    expect((await listExceptions(db.db, { clock, customerId: `cus_1Q${'Initech'.padEnd(22, '0')}` })).total).toBe(2);
    const hooli = await byRef(4);
    await assign(db.db, hooli.id, { to: 'U0ALICE01', actor: bob, clock });
    expect((await listExceptions(db.db, { clock, status: 'mine', me: 'U0ALICE01' })).items.map((e) => e.id)).toEqual([hooli.id]);
    expect((await listExceptions(db.db, { clock, assignee: 'U0ALICE01' })).total).toBe(1);
    expect((await listExceptions(db.db, { clock, status: 'assigned' })).items.map((e) => e.status)).toEqual(['assigned']);
    await resolve(db.db, hooli.id, { code: 'posted_in_gl', note: 'Posted.', actor: alice, clock });
    expect((await listExceptions(db.db, { clock, status: 'mine', me: 'U0ALICE01' })).total).toBe(0);
    expect((await listExceptions(db.db, { clock, status: 'closed' })).items.map((e) => e.id)).toEqual([hooli.id]);
  });

  it('a snoozed exception leaves the open list until its snooze runs out, then counts as open again', async () => {
    const e = await byRef(1);
    await snooze(db.db, e.id, { until: new Date('2026-11-04T09:00:00Z'), actor: alice, clock });
    expect((await listExceptions(db.db, { clock })).items.map((x) => x.id)).not.toContain(e.id);
    expect((await listExceptions(db.db, { clock, status: 'snoozed' })).items.map((x) => x.id)).toEqual([e.id]);

    clock.set('2026-11-04T09:00:00Z');
    const open = await listExceptions(db.db, { clock });
    expect(open.items[0]).toMatchObject({ id: e.id, status: 'snoozed', snoozeExpired: true });
    expect(open.total).toBe(8);
    expect((await listExceptions(db.db, { clock, status: 'snoozed' })).total).toBe(0);
  });

  it('refuses filters it does not know, with the values it takes', async () => {
    await expect(listExceptions(db.db, { clock, status: 'pending' as never })).rejects.toThrow('"pending" is not an exception status (expected one of open, mine,');
    await expect(listExceptions(db.db, { clock, kind: 'typo' as never })).rejects.toThrow(UserError);
    await expect(listExceptions(db.db, { clock, pageSize: 500 })).rejects.toThrow('pageSize must be a whole number from 1 to 100 (got 500).');
    await expect(listExceptions(db.db, { clock, status: 'mine' })).rejects.toThrow('"mine" needs to know who is asking.');
  });

  it('a digest counts what is open by kind and severity, with amounts per currency and the top items', async () => {
    const d = await exceptionDigest(db.db, { clock, top: 3 });
    expect(d.open).toBe(8);
    expect(d.bySeverity).toEqual({ low: 1, medium: 4, high: 1, critical: 2 });
    expect(d.byKind).toEqual([
      {
        kind: 'missing_in_gl',
        label: 'Missing in GL',
        count: 7,
        amounts: [
          { currency: 'EUR', amount: 300_000n },
          { currency: 'JPY', amount: 50_000n },
          { currency: 'USD', amount: 750_000n + 12_000n + 2_500n + 150_000n + 600_000n },
        ],
      },
      { kind: 'missing_in_billing', label: 'Missing in billing', count: 1, amounts: [{ currency: 'USD', amount: 99_000n }] },
    ]);
    expect(d.top.map((e) => e.amount)).toEqual([750_000n, 600_000n, 150_000n]);
  });
});

describe('acting on an exception', () => {
  it('get shows where it came from: the billing record and the GL line with its file and line', async () => {
    const e = await byRef(2);
    expect(await getException(db.db, e.id, { clock })).toMatchObject({
      kind: 'missing_in_gl',
      kindLabel: 'Missing in GL',
      billingRecordKey: 'charge:ch_1QService000000000000002',
      glSource: null,
      summary: 'Stripe has it, the GL does not',
    });
    const gl = (await listExceptions(db.db, { clock, kind: 'missing_in_billing' })).items[0];
    expect(gl).toMatchObject({ glSource: 'test.csv:2', glLineKey: 'gl-wire', billingRecordKey: null });
    expect(await getException(db.db, `#${e.id}`, { clock })).toMatchObject({ id: e.id });
  });

  it('assign, snooze, resolve and reopen each move the status, bump the version and leave an audit entry', async () => {
    const e = await byRef(1);
    const a = await assign(db.db, e.id, { to: 'U0BOB0002', actor: alice, clock });
    expect(a).toMatchObject({ status: 'assigned', assignee: 'U0BOB0002', version: e.version + 1 });
    const s = await snooze(db.db, e.id, { until: new Date('2026-11-09T00:00:00Z'), actor: bob, clock });
    expect(s).toMatchObject({ status: 'snoozed', assignee: 'U0BOB0002', snoozedUntil: new Date('2026-11-09T00:00:00Z') });
    const r = await resolve(db.db, e.id, { code: 'timing_difference', note: '  Posted on 3 Nov in JE-1103.  ', actor: bob, clock });
    expect(r).toMatchObject({
      status: 'resolved',
      resolutionCode: 'timing_difference',
      resolutionNote: 'Posted on 3 Nov in JE-1103.',
      resolvedBy: 'U0BOB0002',
      resolvedAt: clock.now(),
      snoozedUntil: null,
      version: e.version + 3,
    });
    const o = await reopen(db.db, e.id, { note: 'JE-1103 was for another charge.', actor: alice, clock });
    expect(o).toMatchObject({ status: 'reopened', resolutionCode: null, resolvedBy: null, version: e.version + 4 });
    const actions = (await listAudit(db.db, { entity: { type: 'exception', id: e.id.toString() } })).map((x) => x.action);
    expect(actions).toEqual(['exception.opened', 'exception.assigned', 'exception.snoozed', 'exception.resolved', 'exception.reopened']);
    const resolved = (await listAudit(db.db, { entity: { type: 'exception', id: e.id.toString() }, action: 'exception.resolved' }))[0];
    expect(resolved).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0BOB0002' },
      before: { status: 'snoozed', assignee: 'U0BOB0002' },
      after: { status: 'resolved', resolution_code: 'timing_difference', resolution_note: 'Posted on 3 Nov in JE-1103.' },
      source: 'slack',
    });
  });

  it('refuses what does not make sense now, saying why, and changes nothing', async () => {
    const e = await byRef(3);
    await resolve(db.db, e.id, { code: 'not_an_issue', note: 'Test charge.', actor: alice, clock });
    const errs = [
      await unchanged(() => assign(db.db, e.id, { to: 'U0BOB0002', actor: bob, clock }), e.id),
      await unchanged(() => snooze(db.db, e.id, { until: new Date('2026-11-05T00:00:00Z'), actor: bob, clock }), e.id),
      await unchanged(() => resolve(db.db, e.id, { code: 'posted_in_gl', note: 'x', actor: bob, clock }), e.id),
    ];
    for (const err of errs) {
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(`Exception #${e.id} was already resolved by <@U0ALICE01> at 2026-11-02 07:00 UTC (not_an_issue).`);
    }
    const open = await byRef(2);
    expect(((await unchanged(() => reopen(db.db, open.id, { note: 'why not', actor: bob, clock }), open.id)) as Error).message).toBe(
      `Exception #${open.id} is open; it cannot be reopened.`,
    );
    await assign(db.db, open.id, { to: 'U0BOB0002', actor: alice, clock });
    expect(((await unchanged(() => assign(db.db, open.id, { to: 'U0BOB0002', actor: alice, clock }), open.id)) as Error).message).toBe(
      `Exception #${open.id} is already assigned to <@U0BOB0002>.`,
    );
  });

  it('validates input before touching anything', async () => {
    const e = await byRef(4);
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => resolve(db.db, e.id, { code: 'posted_in_gl', note: '   ', actor: alice, clock }), 'Say how it was resolved in a note.'],
      [
        () => resolve(db.db, e.id, { code: 'posted_in_gl', note: 'x'.repeat(MAX_NOTE_LENGTH + 1), actor: alice, clock }),
        `The note is ${MAX_NOTE_LENGTH + 1} characters; keep it to ${MAX_NOTE_LENGTH}.`,
      ],
      [() => resolve(db.db, e.id, { code: 'fixed_it' as never, note: 'done', actor: alice, clock }), '"fixed_it" is not a resolution code (expected one of posted_in_gl,'],
      [() => snooze(db.db, e.id, { until: new Date('2026-11-01T00:00:00Z'), actor: alice, clock }), 'Snooze until a time in the future (2026-11-01 00:00 UTC has passed).'],
      [() => snooze(db.db, e.id, { until: new Date('2027-02-01T07:00:01Z'), actor: alice, clock }), 'An exception can be snoozed for at most 90 days (until 2027-01-31 07:00 UTC).'],
      [() => snooze(db.db, e.id, { until: new Date('not a date'), actor: alice, clock }), 'Snooze until when? Give a date.'],
      [() => assign(db.db, e.id, { to: 'two words', actor: alice, clock }), '"two words" is not someone billops can assign to'],
      [() => reopen(db.db, e.id, { note: '', actor: alice, clock }), 'Say why it is reopened in a note.'],
    ];
    for (const [action, message] of cases) {
      const err = await unchanged(action, e.id);
      expect(err, message).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain(message);
    }
    expect(await snooze(db.db, e.id, { until: new Date('2027-01-31T07:00:00Z'), actor: alice, clock })).toMatchObject({ status: 'snoozed' });
  });

  it('an unknown or malformed id is a UserError', async () => {
    await expect(getException(db.db, 999_999, { clock })).rejects.toThrow('There is no exception #999999.');
    await expect(resolve(db.db, '999999', { code: 'posted_in_gl', note: 'x', actor: alice, clock })).rejects.toThrow('There is no exception #999999.');
    await expect(assign(db.db, 'abc', { to: 'U0BOB0002', actor: alice, clock })).rejects.toThrow('"abc" is not an exception id (a number such as 42).');
    await expect(getException(db.db, -3, { clock })).rejects.toBeInstanceOf(UserError);
  });
});
