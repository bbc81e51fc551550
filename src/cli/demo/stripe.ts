import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { recordAudit } from '../../audit/index.js';
import {
  StripeEventWorker,
  demoBalanceReportCsv,
  demoStripeDataset,
  describeStripeData,
  importStripeReport,
  insertEvents,
  normalizeObjects,
  recordPayoutMembers,
} from '../../stripe/index.js';
import type { DemoStep } from './context.js';

const demoActor = { kind: 'system' as const, id: 'demo', name: 'billops demo' };

/**
 * Stripe ingest for the demo month, through the paths real data takes: the state on 1 Oct as a
 * backfill would write it, October's webhook events through the event store and the queue worker,
 * the month-end balance transactions as the backfill fetches them, and Stripe's itemized balance
 * report imported and checked against them.
 */
export const stripeDemoStep: DemoStep = async (ctx) => {
  const db = ctx.db.db;
  const data = demoStripeDataset();

  // billops is connected on 1 Oct: the backfill writes customers and subscriptions as they stand.
  await db.transaction().execute(async (trx) => {
    await normalizeObjects(trx, data.snapshot.objects.map((object) => ({ object, version: { at: data.snapshot.at, eventId: null } })), data.snapshot.at);
    await recordAudit(
      trx,
      { actor: demoActor, action: 'stripe.backfill.completed', entity: { type: 'stripe_backfill_run', id: 'demo-2026-10-01' }, after: { objects: data.snapshot.objects.length }, source: 'demo' },
      { now: () => data.snapshot.at },
    );
  });
  const customers = data.snapshot.objects.filter((o) => o.object === 'customer').length;
  ctx.say(`1 Oct: connected to Stripe; the backfill wrote ${customers} customers and ${data.snapshot.objects.length - customers} subscriptions as of that morning.`);

  // October's webhooks: stored as the webhook route stores them, then applied by the queue worker.
  const stored = await insertEvents(
    db,
    data.events.map((e) => ({
      id: e.id as string,
      type: e.type as string,
      apiVersion: e.api_version as string,
      created: e.created as number,
      objectId: (e.data as { object: { id?: string } }).object.id ?? null,
      livemode: false,
      payload: JSON.stringify(e),
      receivedAt: new Date((e.created as number) * 1000 + 2000),
      source: 'demo' as const,
    })),
  );
  const started = performance.now();
  const worker = new StripeEventWorker({ db, clock: ctx.clock, logger: ctx.logger, batchSize: 100 });
  const stats = await worker.drain();
  ctx.say(
    `October: ${stored.size} webhook events stored and processed by the queue worker in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
      `(${stats.processed} applied, ${stats.ignored} ignored, ${stats.failed} failed).`,
  );

  // 31 Oct: the backfill fetches balance transactions (Stripe sends no events for them) and payouts' members.
  const at = data.balanceTransactions.at;
  await db.transaction().execute(async (trx) => {
    await normalizeObjects(trx, data.balanceTransactions.objects.map((object) => ({ object, version: { at, eventId: null } })), at);
    for (const [payout, members] of Object.entries(data.payoutMembers)) await recordPayoutMembers(trx, payout, members, at, { complete: true });
    await recordAudit(
      trx,
      { actor: demoActor, action: 'stripe.backfill.completed', entity: { type: 'stripe_backfill_run', id: 'demo-2026-10-31' }, after: { balance_transactions: data.balanceTransactions.objects.length }, source: 'demo' },
      { now: () => at },
    );
  });
  ctx.say(
    `31 Oct: the backfill fetched ${data.balanceTransactions.objects.length} balance transactions (fees, FX) and the members of ` +
      `${Object.keys(data.payoutMembers).length} payouts.`,
  );

  // Stripe's own report for the month, imported and compared with the API's balance transactions.
  const file = path.join(ctx.dir, 'stripe-balance-change-from-activity-2026-10.csv');
  writeFileSync(file, demoBalanceReportCsv(data));
  const report = await importStripeReport({
    db,
    source: Readable.from([Buffer.from(demoBalanceReportCsv(data))]),
    fileName: path.basename(file),
    actor: demoActor,
    from: 'demo',
    clock: ctx.clock,
  });
  const disagree = await sql<{ n: string }>`
    select count(*)::text as n from stripe_report_rows r
    left join stripe_balance_transactions t on t.id = r.balance_transaction_id
    where t.id is null or (t.amount, t.fee, t.net, t.currency, t.payout_id) is distinct from (r.gross, r.fee, r.net, r.currency, r.automatic_payout_id)`.execute(db);
  ctx.say(
    `Imported ${path.relative(process.cwd(), file) || file}: ${report.rows} rows; ` +
      (disagree.rows[0]?.n === '0' ? 'every row agrees with the balance transaction fetched from the API.' : `${disagree.rows[0]?.n} rows disagree with the API.`),
  );

  ctx.say();
  for (const line of await describeStripeData(db, ctx.clock.now())) ctx.say(line);
};
