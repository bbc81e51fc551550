/**
 * Acceptance 2 and the failure paths: two replicas running the job at the same moment perform each
 * step once (one Stripe send, one Slack message per effect); a failed side effect is retried on a
 * later run without repeating the effects that already happened; a replica that died holding a step
 * is taken over after its lease.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { runCollections } from '../../src/collections/index.js';
import * as fx from '../support/stripe-fixtures.js';
import { BASE_YAML, COLLECTIONS_CHANNEL, type Harness, OWNER_A, addDay, customerWith, nineAm, startHarness } from './helpers.js';

const TODAY = '2026-11-10';
let h: Harness;

afterEach(async () => h.close());

/** A send_invoice invoice due `daysAgo` days before TODAY (New York), and a card one finalized then. */
function enterprise(id: string, customer: string, daysAgo: number, amount = 50_000) {
  const due = nineAm(addDay(TODAY, -daysAgo));
  return fx.invoice({ id, customer, collection_method: 'send_invoice', created: fx.unix('2026-09-01T12:00:00Z'), due_date: Math.floor(due.getTime() / 1000), amount_due: amount });
}
function card(id: string, customer: string, daysAgo: number, amount = 9_900) {
  const at = Math.floor(nineAm(addDay(TODAY, -daysAgo)).getTime() / 1000) - 3600;
  return fx.invoice({ id, customer, created: at, amount_due: amount, attempt_count: 2, next_payment_attempt: at + 10 * fx.DAY });
}

const sendRequests = () => h.stripe.requests.filter((r) => /^\/v1\/invoices\/[^/]+\/send$/.test(r.path));

describe('two replicas at once', () => {
  beforeEach(async () => {
    h = await startHarness({ yaml: `${BASE_YAML}  batch_size: 2\n`, start: nineAm(TODAY).toISOString() });
  });

  it('perform each step once between them: one Stripe send and one Slack message per effect', async () => {
    for (let n = 1; n <= 6; n++) {
      await h.seed('customers', customerWith(`cus_Ent${n}`, `Enterprise ${n}`, OWNER_A));
      await h.seed('invoices', enterprise(`in_Ent${n}`, `cus_Ent${n}`, 7 + n)); // overdue_7 is the latest due step
      await h.seed('customers', customerWith(`cus_Card${n}`, `Card ${n}`, OWNER_A));
      await h.seed('invoices', card(`in_Card${n}`, `cus_Card${n}`, 14 + n)); // escalate_owner is the latest due step
    }
    // Two replicas, each with its own connections, start the job at the same moment.
    const other = await h.db.another();
    const [a, b] = await Promise.all([h.run({ workerId: 'replica-a' }), runCollections(h.runDeps({ workerId: 'replica-b' }, other))]);
    expect(a.performed + b.performed).toBe(12);
    expect(a.failed + b.failed).toBe(0);

    expect(sendRequests().map((r) => r.idempotencyKey).sort()).toEqual([1, 2, 3, 4, 5, 6].map((n) => `collections:in_Ent${n}:overdue_7`));
    const posts = h.posts();
    expect(posts).toHaveLength(6 + 12);
    expect(posts.filter((p) => p.channel === COLLECTIONS_CHANNEL)).toHaveLength(12);
    expect(posts.filter((p) => p.channel === h.slack.dmChannelFor(OWNER_A))).toHaveLength(6);
    expect(new Set(posts.map((p) => p.text)).size).toBe(18);

    const rows = await sql<{ status: string; n: string }>`select status, count(*)::text as n from collection_steps group by status order by status`.execute(h.db.db);
    // 12 latest steps done; the earlier ones (2 each) skipped by the catch-up rule, once.
    expect(rows.rows).toEqual([
      { status: 'done', n: '12' },
      { status: 'skipped', n: '24' },
    ]);
    const audit = await listAudit(h.db.db);
    expect(audit.filter((x) => x.action === 'collections.step_performed')).toHaveLength(12);
    expect(audit.filter((x) => x.action === 'collections.step_skipped')).toHaveLength(24);
  });
});

describe('failures', () => {
  beforeEach(async () => {
    h = await startHarness({ yaml: `${BASE_YAML}  max_attempts: 2\n`, start: nineAm(TODAY).toISOString() });
    await h.seed('customers', customerWith('cus_Retry', 'Rowan Rail', OWNER_A));
    await h.seed('invoices', enterprise('in_Retry', 'cus_Retry', 7));
  });

  it('a failed Slack post is retried on the next run; the Stripe reminder that worked is not sent again', async () => {
    h.slack.failNext('chat.postMessage', { error: 'channel_not_found' });
    const first = await h.run();
    expect(first).toMatchObject({ performed: 0, failed: 1 });
    expect(first.outcomes[0]?.error).toMatch(/^post_channel: An API error occurred: channel_not_found/);
    expect(sendRequests()).toHaveLength(1);
    expect(h.posts()).toHaveLength(0);

    // A later run the same day on another replica, then the next morning.
    h.clock.set(nineAm(addDay(TODAY, 1)));
    const second = await h.run({ workerId: 'replica-2' });
    expect(second).toMatchObject({ performed: 1, failed: 0 });
    expect(second.outcomes[0]?.effects.map((e) => [e.effect, e.detail])).toEqual([
      ['remind_customer', 'done on an earlier attempt'],
      ['post_channel', `posted to <#${COLLECTIONS_CHANNEL}>`],
    ]);
    expect(sendRequests()).toHaveLength(1);
    expect(h.posts().map((p) => p.channel)).toEqual([COLLECTIONS_CHANNEL]);
    const row = await h.db.db.selectFrom('collection_steps').selectAll().where('invoice_id', '=', 'in_Retry').where('step_id', '=', 'overdue_7').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'done', attempts: 2, effects_done: ['remind_customer', 'post_channel'], last_error: null });
    const audit = (await listAudit(h.db.db)).filter((a) => a.entity.id === 'in_Retry' && a.action !== 'collections.step_skipped').map((a) => a.action);
    expect(audit).toEqual(['collections.step_failed', 'collections.step_performed']);
    expect(await h.run()).toMatchObject({ performed: 0, failed: 0, due: 0 });
  });

  it('a Stripe error is retried with the same idempotency key; after max_attempts the step waits for a person', async () => {
    h.stripe.failNext({ path: '/v1/invoices/in_Retry/send', status: 500, times: 2 });
    expect(await h.run()).toMatchObject({ failed: 1 });
    h.clock.set(nineAm(addDay(TODAY, 1)));
    expect(await h.run()).toMatchObject({ failed: 1 });
    h.clock.set(nineAm(addDay(TODAY, 2)));
    expect(await h.run()).toMatchObject({ due: 0, performed: 0, failed: 0 });
    expect(sendRequests().map((r) => [r.idempotencyKey, r.status])).toEqual([
      ['collections:in_Retry:overdue_7', 500],
      ['collections:in_Retry:overdue_7', 500],
    ]);
    const row = await h.db.db.selectFrom('collection_steps').select(['status', 'attempts', 'last_error']).where('invoice_id', '=', 'in_Retry').where('step_id', '=', 'overdue_7').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'failed', attempts: 2, last_error: expect.stringMatching(/^remind_customer: Stripe 500/) });
    // When the next step comes due it supersedes the failed one.
    h.clock.set(nineAm(addDay(TODAY, 7)));
    const later = await h.run();
    expect(later.outcomes.map((o) => [o.step.id, o.status, o.skipped])).toEqual([['escalate_owner', 'done', ['overdue_7']]]);
    expect(await h.db.db.selectFrom('collection_steps').select('status').where('step_id', '=', 'overdue_7').executeTakeFirst()).toEqual({ status: 'skipped' });
  });

  it('a step held by a replica that died is taken over after its lease, without repeating what it did', async () => {
    const now = h.clock.now();
    await h.db.db
      .insertInto('collection_steps')
      .values({
        invoice_id: 'in_Retry',
        step_id: 'overdue_7',
        segment: 'enterprise',
        customer_id: 'cus_Retry',
        step_day: 7,
        step_kind: 'follow_up',
        due_on: addDay(TODAY, -7),
        status: 'running',
        idempotency_key: 'collections:in_Retry:overdue_7',
        attempts: 1,
        effects_done: ['remind_customer'],
        lease_until: new Date(now.getTime() + 60_000),
        locked_by: 'dead-replica',
        claimed_on: TODAY,
        claimed_at: now,
        updated_at: now,
      })
      .execute();
    expect(await h.run()).toMatchObject({ due: 0, performed: 0 });
    h.clock.set(new Date(now.getTime() + 31 * 60_000));
    const taken = await h.run();
    expect(taken).toMatchObject({ performed: 1 });
    expect(sendRequests()).toHaveLength(0);
    expect(h.posts()).toHaveLength(1);
  });
});
