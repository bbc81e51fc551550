/**
 * A 2xx from /stripe/webhook means the event is committed, and an event whose processing dies
 * half-way is processed again: by the same replica after a failure, by any replica after a crash.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/index.js';
import {
  EventIntake,
  StripeEventWorker,
  ThreadedEventWorker,
  claimEvents,
  createStripeIngest,
  insertEvents,
  processStripeEvents,
  stripeWebhookRoute,
} from '../../src/stripe/index.js';
import { ManualClock, silentLogger } from '../../src/util/index.js';
import { startTestApp } from '../support/app.js';
import { TEST_WEBHOOK_SECRET, testConfig } from '../support/config.js';
import { testDatabaseUrl } from '../support/db.js';
import { postWebhook } from '../support/fake-stripe.js';
import * as fx from '../support/stripe-fixtures.js';
import { type WebhookHarness, clearStripeTables, countRows, startWebhookHarness } from './helpers.js';

let h: WebhookHarness;
const clock = new ManualClock(new Date());

beforeAll(async () => {
  h = await startWebhookHarness({ clock });
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await clearStripeTables(h.db.db);
  clock.set(new Date());
  fx.resetFixtureIds();
});

function paidInvoiceEvent(id: string) {
  return fx.event('invoice.paid', fx.invoice({ id: `in_${id}`, status: 'paid', amount_due: 2500 }), { id: `evt_${id}` });
}

describe('the answer', () => {
  it('comes only after the event is committed: another connection sees it the moment the 200 arrives', async () => {
    const other = await h.db.another();
    for (let i = 0; i < 5; i++) {
      const res = await h.post(paidInvoiceEvent(`c${i}`));
      expect(res.status).toBe(200);
      const seen = await other.db.selectFrom('stripe_events').select('id').where('id', '=', `evt_c${i}`).execute();
      expect(seen).toHaveLength(1);
    }
  });

  it('is a 500, never a 2xx, when the event cannot be stored (so Stripe delivers it again)', async () => {
    const dead = await connect({ url: 'postgres://postgres@127.0.0.1:1/none' });
    const route = stripeWebhookRoute({ intake: new EventIntake(dead.db), secret: TEST_WEBHOOK_SECRET, toleranceSeconds: 300, logger: silentLogger });
    const app = await startTestApp({ routes: [route], appDb: dead });
    try {
      const res = await postWebhook(`${app.baseUrl}/stripe/webhook`, paidInvoiceEvent('x'), TEST_WEBHOOK_SECRET);
      expect(res.status).toBe(500);
      expect(res.body).not.toContain('received');
    } finally {
      await app.close();
      await dead.close();
    }
  });
});

describe('the group commit', () => {
  it('answers each caller after its own statement, and a row PostgreSQL refuses fails alone', async () => {
    const intake = new EventIntake(h.db.db);
    const now = clock.now();
    const incoming = (id: string, payload: string) => ({ id, type: 'customer.created', apiVersion: null, created: 1, livemode: false, payload, receivedAt: now, source: 'webhook' as const });
    // The first is written at once; the next three queue behind it and share one statement, which
    // PostgreSQL refuses as a whole (jsonb has no \u0000) — so they are retried one by one.
    const a = intake.store(incoming('evt_g1', '{"ok":1}'));
    const b = intake.store(incoming('evt_g2', '{"bad":"\\u0000"}'));
    const c = intake.store(incoming('evt_g3', '{"ok":3}'));
    const d = intake.store(incoming('evt_g1', '{"ok":1}'));
    expect(await a).toBe(true);
    await expect(b).rejects.toThrow(/unsupported Unicode escape sequence|\\u0000/);
    expect(await c).toBe(true);
    expect(await d).toBe(false);
    await intake.settled();
    expect((await h.db.db.selectFrom('stripe_events').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(['evt_g1', 'evt_g3']);
  });
});

describe('processing that dies between store and normalize', () => {
  it('in a crashed replica (claimed, never finished): the event is processed after the lease runs out', async () => {
    expect((await h.post(paidInvoiceEvent('k'))).status).toBe(200);
    // The replica claims the event and dies before normalizing: no commit, no bookkeeping.
    const claimed = await claimEvents(h.db.db, { now: clock.now(), limit: 10, visibilityTimeoutMs: 60_000, token: 'replica-that-died' });
    expect(claimed.map((c) => c.id)).toEqual(['evt_k']);

    // The restarted worker does not touch an event still under someone's lease…
    const restarted = h.worker({ visibilityTimeoutMs: 60_000 });
    expect(await restarted.runOnce()).toBe(0);
    expect(await countRows(h.db.db, 'stripe_invoices')).toBe(0);

    // …and takes it once the lease has run out.
    clock.advance(61_000);
    expect(await restarted.runOnce()).toBe(1);
    const inv = await h.db.db.selectFrom('stripe_invoices').select(['status', 'amount_paid']).where('id', '=', 'in_k').executeTakeFirstOrThrow();
    expect(inv).toEqual({ status: 'paid', amount_paid: 2500n });
    const ev = await h.db.db.selectFrom('stripe_events').select(['status', 'attempts', 'locked_by']).where('id', '=', 'evt_k').executeTakeFirstOrThrow();
    expect(ev).toEqual({ status: 'processed', attempts: 2, locked_by: null });
  });

  it.runIf(testDatabaseUrl() !== undefined)('in a process killed with SIGKILL mid-transaction (real PostgreSQL): nothing half-applied, processed after restart', async () => {
    expect((await h.post(paidInvoiceEvent('sigkill'))).status).toBe(200);
    const script = fileURLToPath(new URL('./support/crash-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, h.db.url as string], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('normalized')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`crash worker exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));

    const other = await h.db.another();
    // The normalization it did inside its transaction died with it.
    expect(await countRows(other.db, 'stripe_invoices')).toBe(0);
    const held = await other.db.selectFrom('stripe_events').select(['status', 'attempts']).where('id', '=', 'evt_sigkill').executeTakeFirstOrThrow();
    expect(held).toEqual({ status: 'processing', attempts: 1 });

    clock.set(Date.now() + 61_000);
    const restarted = h.worker();
    await restarted.drain();
    expect(restarted.stats.processed).toBe(1);
    expect(await countRows(other.db, 'stripe_invoices')).toBe(1);
  }, 30_000);

  it('in a failure inside the transaction: everything it wrote rolls back; retried after a backoff; dead-lettered after the last attempt', async () => {
    expect((await h.post(paidInvoiceEvent('f'))).status).toBe(200);
    const flaky = h.worker({
      process: async (trx, payloads, at) => {
        await processStripeEvents(trx, payloads, at);
        throw new Error('connection reset while marking the event');
      },
    });
    await flaky.runOnce();
    expect(await countRows(h.db.db, 'stripe_invoices')).toBe(0);
    const failed = await h.db.db.selectFrom('stripe_events').selectAll().where('id', '=', 'evt_f').executeTakeFirstOrThrow();
    expect(failed).toMatchObject({ status: 'pending', attempts: 1, locked_by: null });
    expect(failed.last_error).toContain('connection reset');
    expect(failed.next_attempt_at.getTime() - clock.now().getTime()).toBe(1000);

    const healthy = h.worker();
    expect(await healthy.runOnce()).toBe(0); // waiting out the backoff
    clock.advance(1000);
    expect(await healthy.runOnce()).toBe(1);
    expect(await countRows(h.db.db, 'stripe_invoices')).toBe(1);

    expect((await h.post(paidInvoiceEvent('dead'))).status).toBe(200);
    const broken = h.worker({ maxAttempts: 2, backoffMs: () => 0, process: async () => Promise.reject(new Error('bug')) });
    await broken.drain();
    const dead = await h.db.db.selectFrom('stripe_events').select(['status', 'attempts', 'last_error']).where('id', '=', 'evt_dead').executeTakeFirstOrThrow();
    expect(dead).toEqual({ status: 'failed', attempts: 2, last_error: 'Error: bug' });
    expect(broken.stats).toMatchObject({ retried: 1, failed: 1 });
  });
});

describe('a malformed event in a batch', () => {
  it('fails alone: the rest of the batch is applied, it is retried and then dead-lettered with the reason', async () => {
    const now = clock.now();
    const good = [1, 2, 3, 4].map((i) => fx.toWire(fx.event('charge.succeeded', fx.charge({ id: `ch_ok${i}` }), { id: `evt_ok${i}` })));
    const broken = fx.toWire(fx.event('charge.succeeded', fx.charge({ id: 'ch_bad' }), { id: 'evt_bad' }));
    delete (broken.data.object as unknown as Record<string, unknown>).amount;
    await insertEvents(
      h.db.db,
      [...good.slice(0, 2), broken, ...good.slice(2)].map((e) => ({ id: e.id, type: e.type, apiVersion: e.api_version, created: e.created, livemode: false, payload: JSON.stringify(e), receivedAt: now, source: 'webhook' as const })),
    );
    const w = h.worker({ batchSize: 10, maxAttempts: 2, backoffMs: () => 0 });
    await w.drain();
    expect(w.stats).toMatchObject({ processed: 4, retried: 1, failed: 1 });
    expect((await h.db.db.selectFrom('stripe_charges').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual(['ch_ok1', 'ch_ok2', 'ch_ok3', 'ch_ok4']);
    const bad = await h.db.db.selectFrom('stripe_events').select(['status', 'attempts', 'last_error']).where('id', '=', 'evt_bad').executeTakeFirstOrThrow();
    expect(bad.status).toBe('failed');
    expect(bad.attempts).toBe(2);
    expect(bad.last_error).toMatch(/Stripe charge ch_bad is not shaped as expected: amount: /);
  });
});

describe('several replicas', () => {
  it('share the queue through SKIP LOCKED: every event processed exactly once', async () => {
    const now = clock.now();
    await insertEvents(
      h.db.db,
      Array.from({ length: 120 }, (_, i) => {
        const e = fx.toWire(fx.event('charge.succeeded', fx.charge({ id: `ch_r${i}` }), { id: `evt_r${i}` }));
        return { id: e.id, type: e.type, apiVersion: e.api_version, created: e.created, livemode: false, payload: JSON.stringify(e), receivedAt: now, source: 'webhook' as const };
      }),
    );
    const second = await h.db.another();
    const a = h.worker({ batchSize: 7 });
    const b = h.worker({ batchSize: 7, db: second.db });
    const [sa, sb] = await Promise.all([a.drain(), b.drain()]);
    expect(sa.processed + sb.processed).toBe(120);
    expect(await countRows(h.db.db, 'stripe_charges')).toBe(120);
    const attempts = await h.db.db.selectFrom('stripe_events').select('attempts').distinct().execute();
    expect(attempts).toEqual([{ attempts: 1 }]);
  });
});

describe('what billops serve runs', () => {
  it('takes webhooks on the route and applies them with its queue worker (its own thread on PostgreSQL), and stops cleanly', async () => {
    const config = testConfig({ yaml: 'stripe:\n  queue:\n    poll_interval_ms: 20\n' });
    const ingest = createStripeIngest({ config, db: h.db, logger: silentLogger });
    expect(ingest.worker).toBeInstanceOf(h.db.kind === 'pg' ? ThreadedEventWorker : StripeEventWorker);
    const app = await startTestApp({ db: h.db, routes: ingest.routes });
    ingest.start();
    try {
      for (let i = 0; i < 20; i++) {
        const res = await postWebhook(`${app.baseUrl}/stripe/webhook`, fx.event('charge.succeeded', fx.charge({ id: `ch_srv${i}` }), { id: `evt_srv${i}` }), TEST_WEBHOOK_SECRET);
        expect(res.status).toBe(200);
      }
      const until = Date.now() + 15_000;
      while ((await countRows(h.db.db, 'stripe_charges')) < 20 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(await countRows(h.db.db, 'stripe_charges')).toBe(20);
    } finally {
      await app.close();
      await ingest.stop();
    }
    expect(ingest.worker.stats.processed).toBe(20);
  }, 30_000);
});
