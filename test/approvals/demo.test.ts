import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalsDemoStep } from '../../src/cli/demo/approvals.js';
import { stripeDemoStep } from '../../src/cli/demo/stripe.js';
import { ManualClock, silentLogger } from '../../src/util/index.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';

let t: TestDb;
let dir: string;
const said: string[] = [];

beforeAll(async () => {
  t = await createTestDb();
  dir = mkdtempSync(path.join(tmpdir(), 'billops-demo-approvals-'));
  const ctx = { db: t, config: testConfig(), clock: new ManualClock('2026-10-31T23:00:00Z'), logger: silentLogger, dir, say: (s = '') => said.push(s) };
  await stripeDemoStep({ ...ctx, say: () => undefined });
  await approvalsDemoStep(ctx);
});
afterAll(async () => {
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('the demo step for money actions', () => {
  it('shows one credit going from request through approval to execution, and says it was not sent to Stripe', () => {
    const text = said.join('\n');
    expect(text).toContain('U0DEMOREQ1 requests: [pending] #1 Credit $250.00 to Acme Analytics (Goodwill) · needs 1 approval');
    expect(text).toContain('U0DEMOREQ1 clicks Approve on their own request → refused: You requested this, so you cannot approve it');
    expect(text).toContain('U0DEMOAPR1 clicks Approve → approved: Approved request #1');
    expect(text).toContain('Outbox executor: 1 executed, 0 to retry, 0 failed.');
    expect(text).toMatch(/\[executed\] #1 .* Stripe object cbtxn_local_1 · idempotency key approval:1:credit/);
    expect(text).toContain('NOT SENT TO STRIPE');
    expect(text).toContain("Stripe's customer balance: $250.00 of credit — agrees with the ledger.");
  });

  it('applied the credit to billops\' copy of the customer, as Stripe would have', async () => {
    const cus = await t.db.selectFrom('stripe_customers').select(['balance', 'currency']).where('id', '=', 'cus_demo0000000001').executeTakeFirstOrThrow();
    expect(cus).toEqual({ balance: -25_000n, currency: 'USD' });
    const ledger = await t.db.selectFrom('credit_ledger').select(['kind', 'amount', 'stripe_balance_transaction_id']).orderBy('id').execute();
    expect(ledger).toEqual([
      { kind: 'opening', amount: 0n, stripe_balance_transaction_id: null },
      { kind: 'credit', amount: 25_000n, stripe_balance_transaction_id: 'cbtxn_local_1' },
    ]);
  });
});
