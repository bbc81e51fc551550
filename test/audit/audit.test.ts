import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, recordAudit } from '../../src/audit/index.js';
import { ManualClock } from '../support/clock.js';
import { type TestDb, createTestDb } from '../support/db.js';

describe('audit log', () => {
  let t: TestDb;
  const clock = new ManualClock('2026-11-02T10:00:00Z');
  beforeAll(async () => {
    t = await createTestDb();
    await recordAudit(
      t.db,
      {
        actor: { kind: 'slack_user', id: 'U0ALICE01', name: 'alice' },
        action: 'exception.resolved',
        entity: { type: 'exception', id: '42' },
        before: { status: 'open' },
        after: { status: 'resolved', amount: 12345678901234567n },
        source: 'slack',
        context: { team: 'T0ACME', channel: 'C0OPS0001' },
      },
      clock,
    );
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('records who, what, when, before, after and from where', async () => {
    const [entry] = await listAudit(t.db, { entity: { type: 'exception', id: '42' } });
    expect(entry).toMatchObject({
      actor: { kind: 'slack_user', id: 'U0ALICE01', name: 'alice' },
      action: 'exception.resolved',
      before: { status: 'open' },
      after: { status: 'resolved', amount: '12345678901234567' },
      source: 'slack',
      context: { team: 'T0ACME', channel: 'C0OPS0001' },
    });
    expect(entry?.occurredAt.toISOString()).toBe('2026-11-02T10:00:00.000Z');
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and the row stays as it was', async () => {
    await expect(sql`update audit_log set action = 'exception.reopened'`.execute(t.db)).rejects.toThrow(/append-only: UPDATE/);
    await expect(sql`delete from audit_log`.execute(t.db)).rejects.toThrow(/append-only: DELETE/);
    await expect(sql`truncate audit_log`.execute(t.db)).rejects.toThrow(/append-only: TRUNCATE/);
    await expect(t.db.deleteFrom('audit_log').where('entity_id', '=', '42').execute()).rejects.toThrow(/append-only/);
    const rows = await listAudit(t.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.action).toBe('exception.resolved');
  });

  it('rolls back with the change it describes', async () => {
    await expect(
      t.db.transaction().execute(async (trx) => {
        await recordAudit(trx, { actor: { kind: 'cli', id: 'ops' }, action: 'gl.imported', entity: { type: 'gl_import', id: '1' }, source: 'cli' }, clock);
        throw new Error('import failed');
      }),
    ).rejects.toThrow('import failed');
    expect(await listAudit(t.db, { action: 'gl.imported' })).toEqual([]);
  });
});
