import {
  type CollectionsNotice,
  type CollectionsNotifier,
  collectionsDigest,
  describeDigest,
  describeRun,
  localCollectionsStripe,
  noticeText,
  pauseCollections,
  runCollections,
} from '../../collections/index.js';
import { parseBillopsYaml } from '../../config/index.js';
import { formatMoney } from '../../money/index.js';
import { demoCustomers, demoId, normalizeObjects } from '../../stripe/index.js';
import { ManualClock } from '../../util/index.js';
import type { DemoStep } from './context.js';

/** The demo's Slack ids (billops.yml would name real channels and people). */
const CHANNELS = { collections: 'C0DEMOCOL1', finance: 'C0DEMOFIN1' };
const LEAD = 'U0DEMOLEAD';
const RILEY = { kind: 'slack_user' as const, id: 'U0DEMOREQ1', name: 'riley (billing ops)' };

/**
 * Three professional-services invoices from before the demo month, sent for payment on net-30 terms
 * and still unpaid on 31 Oct, as the backfill finds them when billops is connected: they give aging
 * something past 30 days. Wire-format Stripe invoices, written through the same normalization.
 */
function olderInvoices(): Array<Record<string, unknown>> {
  const customers = demoCustomers();
  const specs = [
    { n: 901, customer: 36, amount: 480_000, currency: 'usd', issued: '2026-07-16', due: '2026-08-15', what: 'Onboarding and data migration' },
    { n: 902, customer: 41, amount: 150_000, currency: 'eur', issued: '2026-08-21', due: '2026-09-20', what: 'Integration workshop (2 days)' },
    { n: 903, customer: 30, amount: 240_000, currency: 'usd', issued: '2026-06-20', due: '2026-07-20', what: 'Payroll connector setup' },
  ];
  return specs.map((s) => {
    const c = customers[s.customer - 1];
    if (!c) throw new Error(`no demo customer ${s.customer}`);
    const id = demoId('in', s.n);
    const issued = Date.parse(`${s.issued}T14:00:00Z`) / 1000;
    return {
      id,
      object: 'invoice',
      number: `DEMO-${String(s.n).padStart(4, '0')}`,
      customer: c.id,
      customer_name: c.name,
      customer_email: c.email,
      status: 'open',
      currency: s.currency,
      amount_due: s.amount,
      amount_paid: 0,
      amount_remaining: s.amount,
      subtotal: s.amount,
      total: s.amount,
      tax: null,
      collection_method: 'send_invoice',
      billing_reason: 'manual',
      due_date: Date.parse(`${s.due}T14:00:00Z`) / 1000,
      attempt_count: 0,
      attempted: false,
      next_payment_attempt: null,
      period_start: issued,
      period_end: issued,
      status_transitions: { finalized_at: issued, paid_at: null, voided_at: null, marked_uncollectible_at: null },
      hosted_invoice_url: `https://invoice.stripe.com/i/acct_demo/test_${id}`,
      lines: {
        object: 'list',
        data: [{ id: demoId('il', s.n), object: 'line_item', amount: s.amount, currency: s.currency, description: s.what, quantity: 1, period: { start: issued, end: issued } }],
        has_more: false,
      },
      metadata: {},
      livemode: false,
      created: issued,
    };
  });
}

/** Prints what each Slack message would be instead of posting it. */
function printingNotifier(say: (text: string) => void): CollectionsNotifier {
  let n = 0;
  const show = (to: string, notice: CollectionsNotice) => {
    n += 1;
    say(`    → ${to}:`);
    for (const line of noticeText(notice).split('\n')) say(`        ${line}`);
    return { channel: to, ts: `1793500000.${String(n).padStart(6, '0')}` };
  };
  return {
    dm: async (userId, notice) => show(`DM @${userId} (${notice.audience === 'owner' ? 'account owner' : 'collections lead'})`, notice),
    postChannel: async (channelId, notice) => show(`#${channelId === CHANNELS.finance ? 'finance' : 'collections'} (${channelId})`, notice),
  };
}

/**
 * The collections job on 31 Oct with the shipped policy: what it does for each overdue invoice (one
 * step each: the latest due, earlier ones skipped), a promise to pay holding one account, a second run
 * that does nothing, and the dunning digest with AR aging.
 */
export const collectionsDemoStep: DemoStep = async (ctx) => {
  const base = ctx.config.file;
  const extra = parseBillopsYaml(`slack:\n  channels:\n    collections: ${CHANNELS.collections}\n    finance: ${CHANNELS.finance}\ncollections:\n  lead: ${LEAD}\n`);
  const config = {
    ...ctx.config,
    file: { ...base, slack: { ...base.slack, channels: { ...base.slack.channels, ...extra.slack.channels } }, collections: { ...base.collections, lead: base.collections.lead ?? LEAD } },
  };
  const policy = config.file.collections;
  ctx.say(`Policy (collections:, first matching segment wins; owners from customer metadata "${policy.owner_metadata_key}"):`);
  for (const s of policy.segments) {
    const match = s.match ? Object.entries(s.match).map(([k, v]) => `${k} ${String(v)}`).join(', ') : `default`;
    const steps = s.steps.map((st) => `${st.id} ${st.day > 0 ? '+' : ''}${st.day} d`).join(', ');
    ctx.say(`  ${s.name} (${s.name === policy.default_segment && !s.match ? 'default' : match}): ${steps}`);
  }

  const older = olderInvoices();
  const connectedAt = new Date('2026-10-01T00:00:00Z');
  await ctx.db.db.transaction().execute((trx) => normalizeObjects(trx, older.map((object) => ({ object, version: { at: connectedAt, eventId: null } })), connectedAt));
  ctx.say();
  ctx.say('Also in billops\' copy of Stripe since 1 Oct: three professional-services invoices from the summer, net 30, still unpaid:');
  for (const o of older) {
    ctx.say(`  ${String(o.number)}  ${String(o.customer_name).padEnd(24)} ${formatMoney({ amount: BigInt(o.amount_due as number), currency: String(o.currency).toUpperCase() }).padStart(10)}  due ${new Date((o.due_date as number) * 1000).toISOString().slice(0, 10)}`);
  }

  const deps = { db: ctx.db.db, config, logger: ctx.logger };
  const promiseClock = new ManualClock('2026-10-28T16:00:00Z');
  const berliner = older[1] as { customer: string; customer_name: string };
  const pause = await pauseCollections({ ...deps, clock: promiseClock }, { customerId: berliner.customer, until: '2026-11-07', note: 'Their AP lead confirmed payment in the 6 Nov run', actor: RILEY, source: 'demo' });
  ctx.say();
  ctx.say(`28 Oct: ${RILEY.name} records a promise to pay: ${berliner.customer_name} through ${pause.until} ("${pause.note}").`);
  ctx.say(`  (billops collections pause ${berliner.customer} ${pause.until} …, or from the account card in Slack)`);

  const stripe = localCollectionsStripe();
  ctx.say();
  ctx.say(`31 Oct, the collections job (schedules.collections, ${config.file.schedules.collections}):`);
  const messages: string[] = [];
  const first = await runCollections({ ...deps, clock: ctx.clock, stripe, notifier: printingNotifier((t) => messages.push(t)), source: 'demo', workerId: 'demo' });
  for (const line of describeRun(first)) ctx.say(line);
  ctx.say(`  Slack messages it posted (${messages.length ? 'plain text here; the Slack side renders them with Block Kit' : 'none'}):`);
  for (const line of messages) ctx.say(line);
  if (stripe.sent.length) {
    ctx.say(`  NOT SENT TO STRIPE: the demo has no Stripe account; with STRIPE_SECRET_KEY set, Stripe e-mails ${stripe.sent.length === 1 ? 'the invoice' : `these ${stripe.sent.length} invoices`} again`);
    ctx.say(`  (POST /v1/invoices/:id/send, idempotency keys ${stripe.sent.map((s) => s.idempotencyKey).join(', ')}).`);
  }
  const again = await runCollections({ ...deps, clock: ctx.clock, stripe, notifier: printingNotifier((t) => messages.push(t)), source: 'demo', workerId: 'demo-replica-2' });
  ctx.say(`The same job again (a second replica, or a rerun): ${again.performed} steps performed — each step happens once per invoice.`);

  ctx.say();
  for (const line of describeDigest(await collectionsDigest({ ...deps, clock: ctx.clock }))) ctx.say(line);
};
