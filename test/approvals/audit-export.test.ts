import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest, decide, expireRequests, retryRequest } from '../../src/approvals/index.js';
import { exportFromCli } from '../../src/cli/commands/export.js';
import { APPROVER_1, APPROVER_2, type Harness, REQUESTER, fx, startHarness } from './helpers.js';

/**
 * `billops export audit --from --to` over the approval flows: every step — requested, approved
 * (one and two approvers, automatic), executed, a failed attempt, failed, retried, rejected,
 * expired — is a row, with who, from which Slack team and channel, and before/after.
 */

let h: Harness;
let dir: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  dir = mkdtempSync(path.join(tmpdir(), 'billops-audit-'));
  const cus = await h.seed('customers', fx.customer({ name: 'Audit, "Quoted" & Co', currency: 'usd' }));
  const credit = (amount: bigint, note: string, requester = REQUESTER) =>
    createRequest(h.deps, { params: { action: 'credit', customerId: cus.id, amount, currency: 'USD', reasonCode: 'goodwill', note }, requester });

  // 31 Oct: outside the exported period
  h.clock.set('2026-10-31T12:00:00Z');
  ids.before = (await credit(20_000n, 'before the period')).id;
  await decide(h.deps, { requestId: ids.before, decision: 'reject', reason: 'not now', actor: APPROVER_1 });

  h.clock.set('2026-11-01T09:00:00Z');
  // executed after one approval; the requester's Slack name looks like a spreadsheet formula
  ids.executed = (await credit(25_000n, 'Outage, "28 Oct"\nsecond line', { ...REQUESTER, userName: '=HYPERLINK("x")' })).id;
  await decide(h.deps, { requestId: ids.executed, decision: 'approve', actor: APPROVER_1 });
  // automatic (within policy)
  ids.auto = (await credit(5_000n, 'small')).id;
  // two approvers
  ids.two = (await credit(600_000n, 'big')).id;
  await decide(h.deps, { requestId: ids.two, decision: 'approve', actor: APPROVER_1 });
  await decide(h.deps, { requestId: ids.two, decision: 'approve', actor: APPROVER_2 });
  await h.run();
  // rejected
  ids.rejected = (await credit(30_000n, 'rejected one')).id;
  await decide(h.deps, { requestId: ids.rejected, decision: 'reject', reason: 'Duplicate of an earlier credit', actor: APPROVER_2 });
  // failed after every attempt, then retried and executed
  ids.failed = (await credit(35_000n, 'fails')).id;
  await decide(h.deps, { requestId: ids.failed, decision: 'approve', actor: APPROVER_1 });
  h.fake.failNext({ method: 'POST', path: `/v1/customers/${cus.id}/balance_transactions`, times: 5 });
  for (let i = 0; i < 5; i++) {
    await h.run();
    h.clock.advance(3_600_000);
  }
  await retryRequest(h.deps, { requestId: ids.failed, actor: REQUESTER });
  await h.run();
  // expired
  ids.expired = (await credit(45_000n, 'nobody looks')).id;
  h.clock.set('2026-11-05T12:00:00Z');
  await expireRequests(h.deps);
  // 6 Nov: outside the period again
  h.clock.set('2026-11-06T09:00:00Z');
  ids.after = (await credit(50_000n, 'after the period')).id;
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function exportAudit(args: string[]): Promise<string> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await exportFromCli(['audit', ...args], { db: h.db, config: h.config, stdout: sink, out: { line: () => undefined, error: () => undefined } });
  sink.end();
  return Buffer.concat(chunks).toString('utf8');
}

describe('billops export audit', () => {
  it('writes every step of the approval flows in the period as CSV, in a stable column order', async () => {
    const csv = await exportAudit(['--from', '2026-11-01', '--to', '2026-11-05']);
    expect(csv.split('\n')[0]).toBe('audit_id,occurred_at,actor_kind,actor_id,actor_name,action,entity_type,entity_id,source,before,after,context');
    const rows = parse(csv, { columns: true }) as Array<Record<string, string>>;
    const steps = (id: string | undefined) => rows.filter((r) => r.entity_type === 'approval_request' && r.entity_id === id).map((r) => r.action);
    expect(steps(ids.executed)).toEqual(['approval.requested', 'approval.approved', 'approval.executed']);
    expect(steps(ids.auto)).toEqual(['approval.requested', 'approval.approved', 'approval.executed']);
    expect(steps(ids.two)).toEqual(['approval.requested', 'approval.approval_recorded', 'approval.approved', 'approval.executed']);
    expect(steps(ids.rejected)).toEqual(['approval.requested', 'approval.rejected']);
    expect(steps(ids.failed)).toEqual([
      'approval.requested',
      'approval.approved',
      'approval.attempt_failed',
      'approval.attempt_failed',
      'approval.attempt_failed',
      'approval.attempt_failed',
      'approval.failed',
      'approval.retry_requested',
      'approval.executed',
    ]);
    expect(steps(ids.expired)).toEqual(['approval.requested', 'approval.expired']);
    expect(steps(ids.before)).toEqual([]);
    expect(steps(ids.after)).toEqual([]);

    const approved = rows.find((r) => r.entity_id === ids.executed && r.action === 'approval.approved');
    expect(approved).toMatchObject({ actor_kind: 'slack_user', actor_id: APPROVER_1.userId, actor_name: 'casey', source: 'slack' });
    expect(JSON.parse(approved?.context ?? '{}')).toEqual({ team_id: 'T0TEST', channel_id: 'C0APR0001', message_ts: '1762000000.000100' });
    expect(JSON.parse(approved?.before ?? '{}')).toEqual({ status: 'pending', approvers: [] });
    expect(JSON.parse(approved?.after ?? '{}')).toMatchObject({ status: 'approved', approvers: [APPROVER_1.userId] });
    const executed = rows.find((r) => r.entity_id === ids.executed && r.action === 'approval.executed');
    expect(JSON.parse(executed?.before ?? '{}')).toMatchObject({ status: 'executing', balance: '0' });
    expect(JSON.parse(executed?.after ?? '{}')).toMatchObject({ status: 'executed', balance: '-25000', balance_transaction: expect.stringMatching(/^cbtxn_/) });
    const failed = rows.find((r) => r.entity_id === ids.failed && r.action === 'approval.failed');
    expect(JSON.parse(failed?.after ?? '{}')).toMatchObject({ status: 'failed', attempts: 5, error: expect.stringMatching(/^Stripe 500/) });

    // quoting: a name that looks like a formula is defused, notes with commas, quotes and newlines survive
    const requested = rows.find((r) => r.entity_id === ids.executed && r.action === 'approval.requested');
    expect(requested?.actor_name).toBe(`'=HYPERLINK("x")`);
    expect(JSON.parse(requested?.after ?? '{}').params.note).toBe('Outage, "28 Oct"\nsecond line');
    expect(JSON.parse(requested?.after ?? '{}').title).toBe('Credit $250.00 to Audit, "Quoted" & Co (Goodwill)');

    // the rows are in the order things happened
    const idsInOrder = rows.map((r) => BigInt(r.audit_id as string));
    expect(idsInOrder).toEqual([...idsInOrder].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('--out writes the same bytes to a file, and an unchanged log exports identically', async () => {
    const file = path.join(dir, 'audit.csv');
    await exportFromCli(['audit', '--from', '2026-11-01', '--to', '2026-11-05', '--out', file], { db: h.db, config: h.config, out: { line: () => undefined, error: () => undefined } });
    expect(readFileSync(file, 'utf8')).toBe(await exportAudit(['--from', '2026-11-01', '--to', '2026-11-05']));
  });

  it('the audit log refuses UPDATE and DELETE of approval entries (see also test/audit/audit.test.ts)', async () => {
    await expect(sql`update audit_log set actor_id = 'UEVIL' where entity_type = 'approval_request'`.execute(h.db.db)).rejects.toThrow(/append-only: UPDATE/);
    await expect(sql`delete from audit_log where entity_type = 'approval_request'`.execute(h.db.db)).rejects.toThrow(/append-only: DELETE/);
    await expect(sql`update credit_ledger set amount = 1`.execute(h.db.db)).rejects.toThrow(/credit_ledger is append-only: UPDATE/);
  });
});
