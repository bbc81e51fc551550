import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFromCli } from '../../src/cli/commands/export.js';
import { reconcileFromCli } from '../../src/cli/commands/reconcile.js';
import { resolve } from '../../src/exceptions/index.js';
import { type ExportOptions, writeExport } from '../../src/matching/index.js';
import { UserError } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { goldenId as id, loadGoldenGl, loadGoldenStripe } from './golden-data.js';

/**
 * `billops reconcile` and `billops export` on the golden month: what the operator reads, and
 * exports that come out byte for byte the same when nothing changed.
 */

const config = testConfig();
const clock = new ManualClock('2026-11-02T07:00:00Z');
const actor = { kind: 'cli' as const, id: 'controller' };
let db: TestDb;
let dir: string;
let printed: string[];

function capture() {
  const lines: string[] = [];
  return { lines, out: { line: (t = '') => lines.push(t), error: (t: string) => lines.push(`stderr: ${t}`) } };
}

async function exportString(o: ExportOptions): Promise<string> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  const res = await writeExport(db.db, sink, o);
  sink.end();
  expect(res.rows).toBeGreaterThanOrEqual(0);
  return Buffer.concat(chunks).toString('utf8');
}

function rows(csv: string): Array<Record<string, string>> {
  return parse(csv, { columns: true }) as Array<Record<string, string>>;
}

beforeAll(async () => {
  db = await createTestDb();
  dir = mkdtempSync(path.join(tmpdir(), 'billops-export-'));
  await loadGoldenStripe(db);
  await loadGoldenGl(db, config, clock);
  const c = capture();
  await reconcileFromCli([], { db, config, clock, out: c.out, actor });
  printed = c.lines;
});
afterAll(async () => {
  await db?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('billops reconcile', () => {
  it('prints each rule, each outcome with amounts per currency, and the exceptions', () => {
    const text = printed.join('\n');
    expect(printed[0]).toMatch(/^Reconciliation run #\d+ \(rules [0-9a-f]{16}\) in \d+\.\d s; \d+ billing records? refreshed from Stripe\.$/);
    expect(text).toMatch(/ {2}exact-reference +exact +66 +66 +66\n/);
    expect(text).toMatch(/ {2}prorated-lines +aggregate +1 +1 +2\n/);
    expect(text).toMatch(/ {2}manual-journals +expected_gl_only +1 +0 +1\n/);
    expect(text).toContain('  matched this run          74   €500.00 · $438.15');
    expect(text).toContain('  billing only               2   $1,320.00');
    expect(text).toContain('  expected GL-only           1   -$42.17');
    expect(text).toContain('  GL only                    6   $1,540.00');
    expect(text).toContain('Exceptions: 9 opened, 0 reopened, 0 auto-resolved, 0 updated; 9 active.');
    expect(text).toContain('  Missing in GL                    1   $200.00');
    expect(text).toContain('  Duplicate in GL                  2   $2,400.00');
  });

  it('refuses a bad window before doing anything', async () => {
    const c = capture();
    await expect(reconcileFromCli(['--from', '2026-10-32'], { db, config, clock, out: c.out, actor })).rejects.toThrow(
      '--from "2026-10-32" is not a date (expected YYYY-MM-DD, e.g. 2026-10-01).',
    );
    await expect(reconcileFromCli(['--from', '2026-10-31', '--to', '2026-10-01'], { db, config, clock, out: c.out, actor })).rejects.toThrow(
      '--from 2026-10-31 is after --to 2026-10-01.',
    );
    await expect(reconcileFromCli(['october'], { db, config, clock, out: c.out, actor })).rejects.toBeInstanceOf(UserError);
    expect(c.lines).toEqual([]);
  });
});

describe('billops export', () => {
  it('matches: one row per member pair, with the Stripe ids and the GL file:line an auditor looks for', async () => {
    const csv = await exportString({ kind: 'matches', format: 'csv' });
    const r = rows(csv);
    expect(Object.keys(r[0] ?? {})).toEqual([
      'match_id',
      'run_id',
      'rule',
      'rule_kind',
      'variance_kind',
      'variance',
      'variance_currency',
      'billing_record_key',
      'billing_kind',
      'billing_stripe_id',
      'billing_balance_transaction',
      'billing_source_ids',
      'billing_amount',
      'billing_currency',
      'billing_date',
      'gl_entry',
      'gl_line_key',
      'gl_account',
      'gl_amount',
      'gl_currency',
      'gl_date',
      'matched_at',
    ]);
    // 74 billing-side matches (the proration invoice is one record against two lines) + the journal
    expect(r).toHaveLength(74 + 1 + 1);
    const fx = r.find((x) => x.billing_record_key === `charge:${id('wayne.charge')}`);
    expect(fx).toMatchObject({
      rule: 'fx-timing',
      variance_kind: 'fx_timing',
      variance: '4.40',
      variance_currency: 'USD',
      billing_kind: 'charge',
      billing_stripe_id: id('wayne.charge'),
      billing_balance_transaction: id('wayne.charge.txn'),
      billing_amount: '500.00',
      billing_currency: 'EUR',
      gl_entry: 'gl-transaction-detail-2026-10.csv:69',
      gl_account: 'Stripe Clearing',
      gl_amount: '546.25',
      gl_currency: 'USD',
      gl_date: '2026-10-09',
      matched_at: '2026-11-02T07:00:00.000Z',
    });
    const prorated = r.filter((x) => x.rule === 'prorated-lines');
    expect(prorated.map((x) => x.billing_record_key)).toEqual([`invoice:${id('stark.invoice.2026-10-15')}`, `invoice:${id('stark.invoice.2026-10-15')}`]);
    expect(prorated.map((x) => x.gl_amount).sort()).toEqual(['-140.32', '580.65']);
    const journal = r.find((x) => x.rule === 'manual-journals');
    expect(journal).toMatchObject({ billing_record_key: '', variance_kind: 'expected', gl_amount: '-42.17' });
    const fee = r.find((x) => x.billing_record_key === `fee:${id('globex.charge.2026-10-01.txn')}`);
    expect(fee).toMatchObject({ billing_balance_transaction: id('globex.charge.2026-10-01.txn'), billing_source_ids: id('globex.charge.2026-10-01') });
    // ordered by stable keys, never by insertion ids
    const keys = r.map((x) => `${x.billing_record_key}\u0000${x.gl_line_key}`);
    expect(keys).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('exceptions: kind, status, amount, customer, the billing and GL side, reference, opened / resolved', async () => {
    const r = rows(await exportString({ kind: 'exceptions', format: 'csv' }));
    expect(r).toHaveLength(9);
    const dup = r.filter((x) => x.kind === 'duplicate_in_gl');
    expect(dup.map((x) => [x.amount, x.currency, x.customer_name, x.reference])).toEqual(
      expect.arrayContaining([
        ['-1200.00', 'USD', 'Massive Dynamic', 'ACME-1012'],
        ['1200.00', 'USD', 'Massive Dynamic', 'ACME-1012'],
      ]),
    );
    expect(r.find((x) => x.kind === 'missing_in_gl')).toMatchObject({
      status: 'open',
      severity: 'medium',
      amount: '-200.00',
      billing_record_key: `refund:${id('hooli.refund')}`,
      billing_kind: 'refund',
      billing_balance_transaction: id('hooli.refund.txn'),
      gl_entry: '',
      opened_at: '2026-11-02T07:00:00.000Z',
      resolved_at: '',
    });
    expect(r.find((x) => x.kind === 'void_not_reflected')?.gl_entry).toBe('gl-transaction-detail-2026-10.csv:21');
  });

  it('json: the same rows as objects, structured audit before / after', async () => {
    const matches = JSON.parse(await exportString({ kind: 'matches', format: 'json' })) as Array<Record<string, unknown>>;
    expect(matches).toHaveLength(76);
    expect(matches.find((m) => m.rule === 'rounding' && m.billing_kind === 'payment')).toMatchObject({ variance: '-0.01', variance_currency: 'USD' });
    const audit = JSON.parse(await exportString({ kind: 'audit', format: 'json' })) as Array<Record<string, unknown>>;
    const run = audit.find((a) => a.action === 'reconcile.run');
    expect(run).toMatchObject({ actor_kind: 'cli', actor_id: 'controller', source: 'cli', after: { exceptions_opened: 9 } });
    expect(JSON.parse(await exportString({ kind: 'exceptions', format: 'json', from: '2027-01-01' }))).toEqual([]);
  });

  it('--from / --to keep the matches whose billing date is in the window', async () => {
    const r = rows(await exportString({ kind: 'matches', format: 'csv', from: '2026-10-20', to: '2026-10-22' }));
    expect(new Set(r.map((x) => x.billing_date))).toEqual(new Set(['2026-10-20', '2026-10-21', '2026-10-22'].filter((d) => r.some((x) => x.billing_date === d))));
    expect(r.length).toBeGreaterThan(0);
    expect(r.every((x) => (x.billing_date ?? '') >= '2026-10-20' && (x.billing_date ?? '') <= '2026-10-22')).toBe(true);
  });

  it('streams through a cursor: any batch size and a slow reader give the same bytes', async () => {
    const whole = await exportString({ kind: 'matches', format: 'csv' });
    expect(await exportString({ kind: 'matches', format: 'csv', batchSize: 7 })).toBe(whole);
    // a reader that lets 64 bytes pile up at most: the writer waits for it
    const sink = new PassThrough({ highWaterMark: 64 });
    let got = '';
    const reading = (async () => {
      for await (const chunk of sink) {
        got += (chunk as Buffer).toString('utf8');
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await writeExport(db.db, sink, { kind: 'matches', format: 'csv', batchSize: 5 });
    sink.end();
    await reading;
    expect(got).toBe(whole);
  });

  it('stops, and releases its cursor, when the destination fails half way (disk full, closed pipe)', async () => {
    let writes = 0;
    const broken = new Writable({
      highWaterMark: 16,
      write(_chunk, _enc, cb) {
        writes++;
        setTimeout(() => cb(writes > 2 ? Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }) : null), 1);
      },
    });
    broken.on('error', () => undefined);
    await expect(writeExport(db.db, broken, { kind: 'matches', format: 'csv', batchSize: 3 })).rejects.toThrow('ENOSPC');
    // the connection is usable again: the export's transaction was rolled back
    expect(rows(await exportString({ kind: 'exceptions', format: 'csv' }))).toHaveLength(9);
  });

  it('a rerun that changes nothing gives byte-identical files; a resolution shows up', async () => {
    const files = async (tag: string) => {
      const c = capture();
      for (const kind of ['matches', 'exceptions']) {
        for (const format of ['csv', 'json']) {
          await exportFromCli([kind, '--format', format, '--out', path.join(dir, `${tag}-${kind}.${format}`)], { db, config, out: c.out });
        }
      }
      return c.lines;
    };
    const said = await files('first');
    expect(said[0]).toBe(`Wrote 76 matches rows to ${path.join(dir, 'first-matches.csv')} (csv).`);
    clock.advance(3_600_000);
    await reconcileFromCli([], { db, config, clock, out: capture().out, actor });
    await files('second');
    for (const name of ['matches.csv', 'matches.json', 'exceptions.csv', 'exceptions.json']) {
      expect(readFileSync(path.join(dir, `second-${name}`)), name).toEqual(readFileSync(path.join(dir, `first-${name}`)));
    }
    // nothing half-written is left behind
    expect(readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);

    const dispute = rows(readFileSync(path.join(dir, 'first-exceptions.csv'), 'utf8')).find((x) => x.kind === 'dispute_open');
    await resolve(db.db, dispute?.exception_id ?? '', { code: 'expected_difference', note: 'Evidence submitted; tracked in the dispute queue.', actor: { kind: 'slack_user', id: 'U0ALICE01' }, clock });
    await files('third');
    const after = rows(readFileSync(path.join(dir, 'third-exceptions.csv'), 'utf8')).find((x) => x.kind === 'dispute_open');
    expect(after).toMatchObject({ status: 'resolved', resolved_by: 'U0ALICE01', resolution_code: 'expected_difference' });
  });

  it('to stdout without --out, the summary on stderr; bad arguments are UserErrors', async () => {
    const sink = new PassThrough();
    let text = '';
    sink.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const c = capture();
    await exportFromCli(['audit', '--format', 'csv', '--from', '2026-11-02', '--to', '2026-11-02'], { db, config, out: c.out, stdout: sink });
    expect(text.split('\n')[0]).toBe('audit_id,occurred_at,actor_kind,actor_id,actor_name,action,entity_type,entity_id,source,before,after,context');
    expect(c.lines).toHaveLength(1);
    expect(c.lines[0]).toMatch(/^stderr: Exported \d+ audit rows \(csv\)\.$/);
    await expect(exportFromCli(['ledger'], { db, config, out: c.out, stdout: sink })).rejects.toThrow('Cannot export "ledger" (expected matches, exceptions, audit).');
    await expect(exportFromCli(['matches', '--format', 'xlsx'], { db, config, out: c.out, stdout: sink })).rejects.toThrow('--format xlsx is not a format billops writes');
    await expect(exportFromCli([], { db, config, out: c.out, stdout: sink })).rejects.toThrow('Say what to export');
    await expect(exportFromCli(['matches', '--to', '31/10/2026'], { db, config, out: c.out, stdout: sink })).rejects.toThrow('--to "31/10/2026" is not a date');
    await expect(exportFromCli(['matches', '--out', path.join(dir, 'no-such-dir', 'x.csv')], { db, config, out: c.out, stdout: sink })).rejects.toBeInstanceOf(UserError);
  });
});
