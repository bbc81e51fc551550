import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectionsDemoStep } from '../../src/cli/demo/collections.js';
import { stripeDemoStep } from '../../src/cli/demo/stripe.js';
import { ManualClock, silentLogger } from '../../src/util/index.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';

let t: TestDb;
let dir: string;
const said: string[] = [];

beforeAll(async () => {
  t = await createTestDb();
  dir = mkdtempSync(path.join(tmpdir(), 'billops-demo-collections-'));
  const ctx = { db: t, config: testConfig(), clock: new ManualClock('2026-10-31T23:00:00Z'), logger: silentLogger, dir, say: (s = '') => said.push(s) };
  await stripeDemoStep({ ...ctx, say: () => undefined });
  await collectionsDemoStep(ctx);
}, 120_000);
afterAll(async () => {
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('the demo step for collections', () => {
  it('performs one step per overdue invoice, holds the promised account, and changes nothing when run again', () => {
    const text = said.join('\n');
    expect(text).toContain(
      'Collections run for 2026-10-31 (UTC) in ',
    );
    expect(text).toMatch(/: 4 steps performed, 0 failed \(retried on the next run\), 11 earlier steps skipped \(caught up\), 0 invoices left collections, 1 invoice on hold/);
    expect(text).toContain('  DEMO-0903    Delta Payroll              Formal collections (enterprise) — $2,400.00, 103 days overdue: done');
    expect(text).toContain('  DEMO-0035    Vantage Freight            Follow-up: unpaid 7 days (self_serve) — $199.00, 11 days overdue: done');
    expect(text).toContain('NOT SENT TO STRIPE');
    expect(text).toContain('idempotency keys collections:in_demo0000000004:overdue_7');
    expect(text).toContain('The same job again (a second replica, or a rerun): 0 steps performed');
    expect(text).toContain('    → #finance (C0DEMOFIN1):');
  });

  it('prints the dunning digest with AR aging', () => {
    const text = said.join('\n');
    expect(text).toContain('Dunning digest for 2026-10-31 (UTC)');
    expect(text).toContain('  Berliner Brotwerk GmbH       promise to pay until 2026-11-07 (dunning resumes 2026-11-08) · 1 open invoice €1,500.00');
    expect(text).toMatch(/ {2}31-60 {12}1 {3}€1,500\.00/);
    expect(text).toMatch(/ {2}90\+ {14}1 {3}\$2,400\.00/);
    expect(text).toMatch(/ {2}total {12}5 {3}€1,500\.00 · \$7,898\.00/);
  });
});
