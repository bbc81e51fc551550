/**
 * Acceptance 3: a promise-to-pay pause suppresses steps until it lapses; then dunning resumes at the
 * right step (the latest one due, earlier ones skipped), and every pause and step is in the audit
 * log. Also: what a person may type, clearing a pause, and open disputes holding dunning.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { CollectionsInputError, clearCollectionsPause, listPauses, pauseCollections } from '../../src/collections/index.js';
import * as fx from '../support/stripe-fixtures.js';
import { type Harness, OWNER_A, addDay, customerWith, nineAm, startHarness } from './helpers.js';

const DUE = '2026-10-20';
const CUS = 'cus_Promise01';
const INV = 'in_Promise01';
const RILEY = { kind: 'slack_user' as const, id: 'U0RILEY01', name: 'riley' };
let h: Harness;

beforeEach(async () => {
  h = await startHarness({ start: nineAm(addDay(DUE, -5)).toISOString() });
  await h.seed('customers', customerWith(CUS, 'Poplar Partners', OWNER_A));
  await h.seed('invoices', fx.invoice({ id: INV, customer: CUS, collection_method: 'send_invoice', created: fx.unix('2026-09-20T12:00:00Z'), due_date: Math.floor(nineAm(DUE).getTime() / 1000), amount_due: 250_000 }));
});
afterEach(async () => h.close());

/** Run the job at 09:00 on each day from `from` to `to` (offsets from the due day); the steps performed, by day. */
async function runDays(from: number, to: number, before?: (offset: number) => Promise<void>): Promise<Array<[number, string, string[]]>> {
  const done: Array<[number, string, string[]]> = [];
  for (let d = from; d <= to; d++) {
    h.clock.set(nineAm(addDay(DUE, d)));
    await before?.(d);
    const s = await h.run();
    for (const o of s.outcomes) if (o.status === 'done') done.push([d, o.step.id, o.skipped]);
  }
  return done;
}

describe('a promise to pay', () => {
  it('holds the steps until it lapses; dunning resumes the next day at the step then due', async () => {
    const performed = await runDays(-5, 20, async (d) => {
      if (d === 2) {
        const p = await pauseCollections(h.deps, { customerId: CUS, until: addDay(DUE, 12), note: 'CFO promised payment by the 1st', actor: RILEY, source: 'slack' });
        expect(p).toMatchObject({ kind: 'promise_to_pay', until: '2026-11-01', setBy: { id: RILEY.id, name: 'riley' } });
      }
    });
    // -3 and +1 before the promise; +7 held (day 7 to 12); resumed on day 13 at +7 (the latest due then); +14 on day 14.
    expect(performed).toEqual([
      [-3, 'due_soon', []],
      [1, 'overdue_1', []],
      [13, 'overdue_7', []],
      [14, 'escalate_owner', []],
    ]);
    const audit = await listAudit(h.db.db);
    expect(audit.map((a) => [a.action, a.entity.id])).toEqual([
      ['collections.step_performed', INV],
      ['collections.step_performed', INV],
      ['collections.paused', CUS],
      ['collections.pause_lapsed', CUS],
      ['collections.step_performed', INV],
      ['collections.step_performed', INV],
    ]);
    expect(audit[2]).toMatchObject({ actor: RILEY, source: 'slack', after: { pause: 'promise_to_pay', until: '2026-11-01', resumes_on: '2026-11-02', note: 'CFO promised payment by the 1st' } });
    expect(audit[3]?.after).toEqual({ pause: null, resumed_on: '2026-11-02' });
  });

  it('after a long pause, only the latest due step is performed and the missed one is skipped (and audited)', async () => {
    const performed = await runDays(-5, 24, async (d) => {
      if (d === 2) await pauseCollections(h.deps, { customerId: CUS, until: addDay(DUE, 20), note: 'Paying after their board meeting', actor: RILEY, source: 'slack' });
    });
    expect(performed).toEqual([
      [-3, 'due_soon', []],
      [1, 'overdue_1', []],
      [21, 'escalate_owner', ['overdue_7']],
    ]);
    // The customer was reminded by Stripe twice (due_soon, overdue_1), never for the skipped follow-up.
    expect(h.sendCalls().map((c) => c.key)).toEqual([`collections:${INV}:due_soon`, `collections:${INV}:overdue_1`]);
    const audit = await listAudit(h.db.db);
    const steps = audit.filter((a) => a.action.startsWith('collections.step_')).map((a) => [a.action, (a.after as { step: string }).step]);
    expect(steps).toEqual([
      ['collections.step_performed', 'due_soon'],
      ['collections.step_performed', 'overdue_1'],
      ['collections.step_skipped', 'overdue_7'],
      ['collections.step_performed', 'escalate_owner'],
    ]);
    const skipped = audit.find((a) => a.action === 'collections.step_skipped');
    expect(skipped?.after).toEqual({ step: 'overdue_7', status: 'skipped', reason: 'caught_up', performed_instead: 'escalate_owner' });
  });

  it('cleared early, dunning resumes on the next run', async () => {
    h.clock.set(nineAm(addDay(DUE, 3)));
    await pauseCollections(h.deps, { customerId: CUS, until: addDay(DUE, 30), note: 'Promised', actor: RILEY, source: 'cli' });
    h.clock.set(nineAm(addDay(DUE, 8)));
    expect(await h.run()).toMatchObject({ performed: 0, paused: 1 });
    expect(await listPauses(h.deps, CUS)).toEqual([expect.objectContaining({ kind: 'promise_to_pay', until: '2026-11-19', note: 'Promised' })]);
    const cleared = await clearCollectionsPause(h.deps, { customerId: CUS, note: 'They did not pay after all', actor: RILEY, source: 'slack' });
    expect(cleared.until).toBe('2026-11-19');
    expect(await listPauses(h.deps, CUS)).toEqual([]);
    const s = await h.run();
    expect(s.outcomes.map((o) => [o.step.id, o.status, o.skipped])).toEqual([['overdue_7', 'done', ['due_soon', 'overdue_1']]]);
    const actions = (await listAudit(h.db.db, { entity: { type: 'customer', id: CUS } })).map((a) => a.action);
    expect(actions).toEqual(['collections.paused', 'collections.pause_cleared']);
    await expect(clearCollectionsPause(h.deps, { customerId: CUS, actor: RILEY, source: 'slack' })).rejects.toThrow('Poplar Partners has no promise-to-pay pause in force.');
  });

  it('refuses what cannot be a promise to pay, field by field, and changes nothing', async () => {
    h.clock.set(nineAm(DUE));
    const attempt = (o: Partial<{ customerId: string; until: string; note: string }>) =>
      pauseCollections(h.deps, { customerId: CUS, until: addDay(DUE, 5), note: 'ok', actor: RILEY, source: 'slack', ...o }).then(
        () => null,
        (e: unknown) => (e instanceof CollectionsInputError ? [e.field, e.message] : e),
      );
    expect(await attempt({ customerId: 'cus_Nobody' })).toEqual(['customer', "There is no customer cus_Nobody in billops' copy of Stripe."]);
    expect(await attempt({ until: '2026-10-20' })).toEqual(['until', 'Pick a day after today (2026-10-20, America/New_York).']);
    expect(await attempt({ until: '2026-02-30' })).toEqual(['until', '"2026-02-30" is not a date (YYYY-MM-DD).']);
    expect(await attempt({ until: addDay(DUE, 61) })).toEqual(['until', 'A promise to pay pauses dunning for at most 60 days: pick 2026-12-19 or earlier.']);
    expect(await attempt({ note: '   ' })).toEqual(['note', 'Add a note: what did the customer promise, and who spoke to them?']);
    expect(await attempt({ note: 'x'.repeat(2001) })).toEqual(['note', 'The note is 2001 characters; at most 2000.']);
    expect(await h.db.db.selectFrom('collection_pauses').selectAll().execute()).toEqual([]);
    expect(await listAudit(h.db.db)).toEqual([]);
  });

  it('a second promise replaces the first', async () => {
    h.clock.set(nineAm(DUE));
    await pauseCollections(h.deps, { customerId: CUS, until: addDay(DUE, 5), note: 'first', actor: RILEY, source: 'slack' });
    await pauseCollections(h.deps, { customerId: CUS, until: addDay(DUE, 9), note: 'second', actor: RILEY, source: 'slack' });
    expect((await listPauses(h.deps, CUS)).map((p) => [p.until, p.note])).toEqual([['2026-10-29', 'second']]);
    const paused = (await listAudit(h.db.db)).filter((a) => a.action === 'collections.paused');
    expect(paused[1]?.before).toMatchObject({ pause: 'promise_to_pay', until: '2026-10-25', note: 'first' });
  });
});

describe('an open dispute', () => {
  it('holds the account\'s dunning while Stripe says it is open', async () => {
    const ch = fx.charge({ id: 'ch_Disputed01', customer: CUS, amount: 250_000, status: 'succeeded' });
    const { normalizeObjects } = await import('../../src/stripe/index.js');
    const at = h.clock.now();
    const dp = fx.dispute({ id: 'dp_Open01', charge: ch.id, amount: 250_000, status: 'needs_response' });
    await normalizeObjects(h.db.db, [ch, dp].map((o) => ({ object: fx.toWire(o), version: { at, eventId: null } })), at);
    h.clock.set(nineAm(addDay(DUE, 1)));
    expect(await h.run()).toMatchObject({ performed: 0, paused: 1 });
    expect(await listPauses(h.deps, CUS)).toEqual([expect.objectContaining({ kind: 'dispute', id: 'dp_Open01', dispute: expect.objectContaining({ status: 'needs_response' }) })]);
    // Stripe: the dispute was won.
    h.clock.set(new Date(h.clock.now().getTime() + 3_600_000));
    await h.webhook('charge.dispute.closed', { ...fx.dispute({ id: 'dp_Open01', charge: ch.id, amount: 250_000, status: 'won', created: fx.unix('2026-10-20T12:00:00Z') }) });
    const s = await h.run();
    expect(s.outcomes.map((o) => [o.step.id, o.status, o.skipped])).toEqual([['overdue_1', 'done', ['due_soon']]]);
  });
});
