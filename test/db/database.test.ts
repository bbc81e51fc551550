import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, migrationStatus } from '../../src/db/index.js';
import { type TestDb, createTestDb } from '../support/db.js';

describe('database', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb({ migrate: false });
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('two migrators started together do not collide: each migration runs once', async () => {
    const replica = await t.another();
    const [a, b] = await Promise.all([migrateToLatest(t.db), migrateToLatest(replica.db)]);
    const ran = [...(a.results ?? []), ...(b.results ?? [])].filter((r) => r.status === 'Success').map((r) => r.migrationName);
    const status = await migrationStatus(t.db);
    expect(status.pending).toEqual([]);
    // every migration applied exactly once across both runners
    expect([...ran].sort()).toEqual([...status.applied].sort());
    const rows = await sql<{ name: string; n: bigint }>`select name, count(*) as n from kysely_migration group by name`.execute(t.db);
    expect(rows.rows.every((r) => r.n === 1n)).toBe(true);
    // a third run later finds nothing to do
    const again = await migrateToLatest(t.db);
    expect(again.results).toEqual([]);
  });

  it('int8 round-trips as bigint beyond 2^53, numeric as exact text, date as a calendar day', async () => {
    await sql`create table roundtrip (amount bigint not null, rate numeric(20,10) not null, day date not null)`.execute(t.db);
    const big = 9_007_199_254_740_993n; // 2^53 + 1: a float would silently make it ...992
    await sql`insert into roundtrip values (${big}, ${'1.0825000001'}, ${'2026-02-28'}), (${-big}, ${'0.1'}, ${'2026-12-31'})`.execute(t.db);
    const res = await sql<{ amount: bigint; rate: string; day: string }>`select amount, rate, day from roundtrip order by amount desc`.execute(t.db);
    expect(res.rows).toEqual([
      { amount: big, rate: '1.0825000001', day: '2026-02-28' },
      { amount: -big, rate: '0.1000000000', day: '2026-12-31' },
    ]);
    expect(typeof res.rows[0]?.amount).toBe('bigint');
    const sum = await sql<{ total: string }>`select sum(amount) as total from roundtrip`.execute(t.db);
    expect(sum.rows[0]?.total).toBe('0');
    const count = await sql<{ n: bigint }>`select count(*) as n from roundtrip`.execute(t.db);
    expect(count.rows[0]?.n).toBe(2n);
  });
});
