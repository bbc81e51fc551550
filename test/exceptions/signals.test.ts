import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type SignalSettings,
  exceptionFlow,
  highValueExceptions,
  highValueStragglers,
  signalSettings,
  thresholdBreach,
  unmatchedDrift,
} from '../../src/exceptions/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { insertExceptions } from '../support/exception-rows.js';

/**
 * The three alert signals with hand-computed fixtures. New York time: on Wed 2026-11-04 the zone is
 * on EST (UTC-5; DST ended Sun 2026-11-01), so "today" starts at 05:00Z; the October weeks end at
 * 04:00Z (EDT).
 */

let db: TestDb;
const NOW = '2026-11-04T15:00:00Z'; // Wed 10:00 in New York
const clock = new ManualClock(NOW);

function settings(yaml: string): SignalSettings {
  return signalSettings(testConfig({ yaml }).file);
}

const NY = `
org:
  timezone: America/New_York
  reporting_currency: USD
  fx_rates: { EUR: "1.10" }
thresholds:
  high_value: "5000.00 USD"
  new_unmatched_per_day: 2
  drift_weeks: 3
`;

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.cleanup();
});
beforeEach(async () => {
  await sql`delete from exceptions`.execute(db.db);
  clock.set(NOW);
});

describe('threshold breach: new unmatched items today, in the org time zone', () => {
  beforeEach(async () => {
    await insertExceptions(db.db, [
      { kind: 'missing_in_gl', amount: 100n, openedAt: '2026-11-04T04:30:00Z' }, // 23:30 the day before in New York
      { kind: 'missing_in_gl', amount: 100n, openedAt: '2026-11-04T05:00:00Z' }, // 00:00 today
      { kind: 'amount_mismatch', amount: 100n, openedAt: '2026-11-04T14:00:00Z' },
      { kind: 'failed_payment', amount: 100n, openedAt: '2026-11-04T14:00:00Z' }, // not an unmatched kind
      { kind: 'missing_in_billing', amount: 100n, status: 'auto_resolved', openedAt: '2026-11-04T10:00:00Z' }, // timing artefact
      { kind: 'duplicate_in_gl', amount: 100n, status: 'resolved', openedAt: '2026-11-04T12:00:00Z', resolvedAt: '2026-11-04T13:00:00Z' },
    ]);
  });

  it('counts the three opened since local midnight and calls 3 > 2 a breach', async () => {
    const b = await thresholdBreach(db.db, settings(NY), { clock });
    expect(b).toMatchObject({ day: '2026-11-04', timezone: 'America/New_York', count: 3, limit: 2, breached: true });
    expect(b.from.toISOString()).toBe('2026-11-04T05:00:00.000Z');
    expect(b.to.toISOString()).toBe('2026-11-05T05:00:00.000Z');
    expect(b.byKind).toEqual([
      { kind: 'missing_in_gl', label: 'Missing in GL', count: 1 },
      { kind: 'amount_mismatch', label: 'Amount mismatch', count: 1 },
      { kind: 'duplicate_in_gl', label: 'Duplicate in GL', count: 1 },
    ]);
  });

  it('is no breach at exactly the limit', async () => {
    const b = await thresholdBreach(db.db, settings(NY.replace('new_unmatched_per_day: 2', 'new_unmatched_per_day: 3')), { clock });
    expect(b).toMatchObject({ count: 3, limit: 3, breached: false });
  });

  it('in UTC the 04:30Z item is today too', async () => {
    const b = await thresholdBreach(db.db, settings(NY.replace('America/New_York', 'UTC')), { clock });
    expect(b).toMatchObject({ day: '2026-11-04', count: 4, breached: true });
  });

  it('just before local midnight, "today" is still the 3rd and holds only the 23:30 item', async () => {
    clock.set('2026-11-04T04:59:00Z');
    const b = await thresholdBreach(db.db, settings(NY), { clock });
    expect(b).toMatchObject({ day: '2026-11-03', count: 1, breached: false });
  });
});

describe('high-value items and stragglers', () => {
  const ids: Record<string, bigint> = {};
  beforeEach(async () => {
    const rows = {
      atThreshold: { amount: 500_000n, openedAt: '2026-11-02T15:00:00Z' }, // $5,000.00 exactly, 2 days
      justUnder: { amount: 499_999n, openedAt: '2026-11-02T15:00:00Z' },
      euroOver: { amount: 460_000n, currency: 'EUR', status: 'assigned' as const, assignee: 'U0ALICE01', openedAt: '2026-11-03T14:00:00Z' }, // €4,600 = $5,060, 25 h
      euroUnder: { amount: 450_000n, currency: 'EUR', openedAt: '2026-11-01T00:00:00Z' }, // $4,950
      yen: { amount: 1_000_000n, currency: 'JPY', openedAt: '2026-11-01T00:00:00Z' }, // no rate
      fresh: { amount: -800_000n, openedAt: '2026-11-03T16:00:00Z' }, // |$8,000|, 23 h: high value, not a straggler
      asleep: { amount: 900_000n, status: 'snoozed' as const, snoozedUntil: '2026-11-05T05:00:00Z', openedAt: '2026-11-01T00:00:00Z' },
      resolved: { amount: 900_000n, status: 'resolved' as const, openedAt: '2026-11-01T00:00:00Z', resolvedAt: '2026-11-03T00:00:00Z' },
      dispute: { kind: 'dispute_open', amount: 900_000n, openedAt: '2026-11-01T00:00:00Z' },
      wokeUp: { amount: 700_000n, status: 'snoozed' as const, snoozedUntil: '2026-11-04T05:00:00Z', openedAt: '2026-11-01T00:00:00Z' },
    };
    const inserted = await insertExceptions(db.db, Object.values(rows));
    Object.keys(rows).forEach((k, i) => {
      ids[k] = inserted[i] ?? 0n;
    });
  });

  it('stragglers: at or over $5,000 (EUR converted), open more than 24 h, biggest first', async () => {
    const s = await highValueStragglers(db.db, settings(NY), { clock });
    expect(s.items.map((i) => i.id)).toEqual([ids['wokeUp'], ids['euroOver'], ids['atThreshold']]);
    expect(s).toMatchObject({ total: 3, stragglers: 3, uncompared: ['JPY'], threshold: { amount: 500_000n, currency: 'USD' } });
    const euro = s.items[1];
    expect(euro).toMatchObject({ amount: 460_000n, currency: 'EUR', worth: { amount: 506_000n, currency: 'USD' }, assignee: 'U0ALICE01', straggler: true });
  });

  it('all high-value items include the fresh one, flagged as not yet a straggler', async () => {
    const h = await highValueExceptions(db.db, settings(NY), { clock, limit: 2 });
    expect(h).toMatchObject({ total: 4, stragglers: 3 });
    expect(h.items.map((i) => [i.id, i.straggler])).toEqual([
      [ids['fresh'], false],
      [ids['wokeUp'], true],
    ]);
  });

  it('a threshold in a currency without a rate compares only items in that currency', async () => {
    const s = await highValueStragglers(db.db, settings(NY.replace('"5000.00 USD"', '"100000 JPY"')), { clock });
    expect(s.items.map((i) => i.id)).toEqual([ids['yen']]);
    expect(s.items[0]?.worth).toBeNull();
    expect(s.uncompared).toEqual(['EUR', 'USD']);
  });

  it('nothing open: empty, with zero counts', async () => {
    await sql`delete from exceptions`.execute(db.db);
    expect(await highValueStragglers(db.db, settings(NY), { clock })).toEqual({
      threshold: { amount: 500_000n, currency: 'USD' },
      total: 0,
      stragglers: 0,
      items: [],
      uncompared: [],
    });
  });
});

describe('drift: unmatched balance at the end of each completed ISO week', () => {
  // This Monday is 2026-11-02; the judged weeks start Oct 5, 12, 19 and 26.
  const rising = [
    { amount: 1_000n, openedAt: '2026-10-06T12:00:00Z' },
    { amount: 2_000n, openedAt: '2026-10-13T12:00:00Z' },
    { amount: 1_000n, currency: 'EUR', openedAt: '2026-10-20T12:00:00Z' }, // €10.00 = $11.00
    { amount: 5_000n, openedAt: '2026-11-02T04:30:00Z' }, // Sun 23:30 EST: inside the week that ended Mon 05:00Z
    { amount: 9_999n, openedAt: '2026-11-03T12:00:00Z' }, // this week: not judged yet
    { kind: 'failed_payment', amount: 50_000n, openedAt: '2026-10-06T12:00:00Z' }, // not unmatched
    { amount: 500n, currency: 'JPY', openedAt: '2026-10-06T12:00:00Z' }, // no rate: its own series
  ];

  it('rising three weeks in a row is drift; week ends follow the zone across the DST change', async () => {
    await insertExceptions(db.db, rising);
    const d = await unmatchedDrift(db.db, settings(NY), { clock });
    expect(d.drifting).toBe(true);
    const usd = d.series[0];
    expect(usd?.currency).toBe('USD');
    expect(usd?.converted).toBe(true);
    expect(usd?.points.map((p) => [p.weekStart, p.weekEnd.toISOString(), p.balance])).toEqual([
      ['2026-10-05', '2026-10-12T04:00:00.000Z', 1_000n],
      ['2026-10-12', '2026-10-19T04:00:00.000Z', 3_000n],
      ['2026-10-19', '2026-10-26T04:00:00.000Z', 4_100n],
      ['2026-10-26', '2026-11-02T05:00:00.000Z', 9_100n],
    ]);
    expect(usd?.rising).toBe(true);
    expect(d.series[1]).toMatchObject({ currency: 'JPY', converted: false, rising: false });
    expect(d.series[1]?.points.map((p) => p.balance)).toEqual([500n, 500n, 500n, 500n]);
  });

  it('a week that went down breaks the run', async () => {
    await insertExceptions(db.db, [
      ...rising,
      { amount: 7_000n, status: 'resolved', openedAt: '2026-10-06T12:00:00Z', resolvedAt: '2026-10-14T12:00:00Z' },
    ]);
    const d = await unmatchedDrift(db.db, settings(NY), { clock });
    expect(d.series[0]?.points.map((p) => p.balance)).toEqual([8_000n, 3_000n, 4_100n, 9_100n]);
    expect(d.drifting).toBe(false);
  });

  it('with nothing at all, one flat reporting-currency series', async () => {
    const d = await unmatchedDrift(db.db, settings(NY), { clock });
    expect(d.series).toHaveLength(1);
    expect(d.series[0]?.points.map((p) => p.balance)).toEqual([0n, 0n, 0n, 0n]);
    expect(d.drifting).toBe(false);
  });
});

describe('flow between two instants', () => {
  it('counts what opened and what was resolved in (from, to], with amounts per currency', async () => {
    await insertExceptions(db.db, [
      { amount: 1_000n, openedAt: '2026-11-03T13:30:00Z' }, // exactly at `from`: not in
      { amount: -2_000n, openedAt: '2026-11-03T20:00:00Z' },
      { amount: 300n, currency: 'EUR', openedAt: '2026-11-04T01:00:00Z', status: 'auto_resolved', resolvedAt: '2026-11-04T06:00:00Z' },
      { amount: 5_000n, openedAt: '2026-10-01T00:00:00Z', status: 'resolved', resolvedAt: '2026-11-04T09:00:00Z' },
      { amount: 5_000n, openedAt: '2026-10-01T00:00:00Z', status: 'resolved', resolvedAt: '2026-11-02T09:00:00Z' },
    ]);
    const f = await exceptionFlow(db.db, { from: new Date('2026-11-03T13:30:00Z'), to: new Date(NOW) });
    expect(f.opened).toEqual({ count: 2, amounts: [{ currency: 'EUR', amount: 300n }, { currency: 'USD', amount: 2_000n }] });
    expect(f.resolved).toEqual({ count: 2, amounts: [{ currency: 'EUR', amount: 300n }, { currency: 'USD', amount: 5_000n }] });
  });
});
