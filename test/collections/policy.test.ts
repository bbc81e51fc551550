/**
 * The `collections:` policy: segments chosen by customer metadata, plan and amount (first match wins,
 * else the default segment), invoices without a due date, the on/off switch, the owner fallback, what
 * billops.yml refuses, and the job wired into the scheduler with a replaceable notifier.
 */
import { WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { type CollectionsNotice, type CollectionsNotifier, planCollections } from '../../src/collections/index.js';
import { parseBillopsYaml } from '../../src/config/index.js';
import { JOB_BODIES, buildJobDefinitions } from '../../src/jobs/index.js';
import { testConfig } from '../support/config.js';
import * as fx from '../support/stripe-fixtures.js';
import { BASE_YAML, type Harness, addDay, customerWith, nineAm, startHarness } from './helpers.js';

const TODAY = '2026-11-10';
let h: Harness;
afterEach(async () => h?.close());

const SEGMENTS_YAML = `org:
  timezone: America/New_York
  fx_rates: { EUR: "1.10" }
slack:
  channels:
    collections: C0COLLECT1
    finance: C0FINANCE1
collections:
  default_segment: smb
  segments:
    - name: strategic
      match: { metadata: { tier: [strategic, key] } }
      owner_fallback: U0FALLBACK
      steps: [{ id: s_remind, day: 1, kind: reminder, dm_owner: true }]
    - name: enterprise_plan
      match: { products: [prod_Enterprise] }
      steps: [{ id: e_remind, day: 1, kind: reminder, post_channel: collections }]
    - name: big
      match: { min_amount: "10000.00 USD" }
      steps: [{ id: b_remind, day: 1, kind: reminder, post_channel: finance }]
    - name: smb
      steps: [{ id: smb_remind, day: 1, kind: reminder, label: Friendly nudge, post_channel: C0SMB00001 }]
`;

function dueYesterday(id: string, customer: string, amount: number, currency = 'usd', product?: string) {
  const lines = product ? [fx.invoiceLineItem({ amount, currency, price: 'price_Ent', subscription: null } as never)] : undefined;
  if (lines && product) (lines[0] as unknown as { pricing: { price_details: { product: string } } }).pricing.price_details.product = product;
  return fx.invoice({
    id,
    customer,
    currency,
    collection_method: 'send_invoice',
    created: fx.unix('2026-10-01T12:00:00Z'),
    due_date: Math.floor(nineAm(addDay(TODAY, -1)).getTime() / 1000),
    amount_due: amount,
    ...(lines ? { lines } : {}),
  });
}

describe('segments', () => {
  it('are chosen by customer metadata, product, then amount (other currencies through fx_rates); the first match wins', async () => {
    h = await startHarness({ yaml: SEGMENTS_YAML, start: nineAm(TODAY).toISOString() });
    await h.seed('customers', fx.customer({ id: 'cus_Key', name: 'Key Account', metadata: { tier: 'key' } }));
    await h.seed('customers', customerWith('cus_Plain', 'Plain Co'));
    await h.seed('invoices', dueYesterday('in_1_key_and_enterprise', 'cus_Key', 500_000, 'usd', 'prod_Enterprise'));
    await h.seed('invoices', dueYesterday('in_2_enterprise', 'cus_Plain', 5_000, 'usd', 'prod_Enterprise'));
    await h.seed('invoices', dueYesterday('in_3_usd_10000', 'cus_Plain', 1_000_000));
    await h.seed('invoices', dueYesterday('in_4_eur_9500', 'cus_Plain', 950_000, 'eur'));
    await h.seed('invoices', dueYesterday('in_5_eur_9000', 'cus_Plain', 900_000, 'eur'));
    await h.seed('invoices', dueYesterday('in_6_jpy_no_rate', 'cus_Plain', 2_000_000, 'jpy'));
    await h.seed('invoices', dueYesterday('in_7_usd_9999', 'cus_Plain', 999_999));
    const plan = await planCollections(h.deps);
    expect(plan.items.map((i) => [i.invoiceId, i.segment, i.step.id]).sort()).toEqual([
      ['in_1_key_and_enterprise', 'strategic', 's_remind'],
      ['in_2_enterprise', 'enterprise_plan', 'e_remind'],
      ['in_3_usd_10000', 'big', 'b_remind'],
      ['in_4_eur_9500', 'big', 'b_remind'],
      ['in_5_eur_9000', 'smb', 'smb_remind'],
      ['in_6_jpy_no_rate', 'smb', 'smb_remind'],
      ['in_7_usd_9999', 'smb', 'smb_remind'],
    ]);
    expect(plan.items.find((i) => i.segment === 'smb')?.step.label).toBe('Friendly nudge');

    const s = await h.run();
    expect(s.performed).toBe(7);
    const dm = h.posts().filter((p) => p.channel === h.slack.dmChannelFor('U0FALLBACK'));
    expect(dm).toHaveLength(1);
    expect(dm[0]?.text).toContain('Key Account (cus_Key) owes $5,000.00');
    expect(s.outcomes.find((o) => o.segment === 'strategic')?.effects).toEqual([
      expect.objectContaining({ effect: 'dm_owner', detail: 'DM to the account owner <@U0FALLBACK> (segment fallback)' }),
    ]);
    expect(h.posts().filter((p) => p.channel === 'C0SMB00001')).toHaveLength(3);
    expect(h.posts().filter((p) => p.channel === 'C0FINANCE1')).toHaveLength(2);
  });

  it('an owner step with nobody to tell is recorded as such, not failed; a channel that is not configured likewise', async () => {
    h = await startHarness({ yaml: 'org:\n  timezone: America/New_York\n', start: nineAm(TODAY).toISOString() });
    await h.seed('customers', fx.customer({ id: 'cus_Nobody', name: 'Nobody Owns Me', metadata: { account_owner: 'jane@example.com' } }));
    await h.seed('invoices', fx.invoice({ id: 'in_NoOwner', customer: 'cus_Nobody', created: Math.floor(nineAm(addDay(TODAY, -14)).getTime() / 1000) - 60, amount_due: 1000 }));
    const s = await h.run();
    expect(s.outcomes[0]).toMatchObject({ status: 'done', step: { id: 'escalate_owner' } });
    expect(s.outcomes[0]?.effects.map((e) => e.detail)).toEqual([
      'no account owner: customer metadata "account_owner" names no Slack user and segment self_serve has no owner_fallback',
      'no channel: slack.channels.collections is not set',
    ]);
    expect(h.posts()).toEqual([]);
  });
});

describe('invoices without a due date', () => {
  const cardFinalized = (daysAgo: number) =>
    fx.invoice({ id: 'in_Card', customer: 'cus_Card', created: Math.floor(nineAm(addDay(TODAY, -daysAgo)).getTime() / 1000) - 60, amount_due: 2_000, attempt_count: 1 });

  it('are due undated_net_days after finalization', async () => {
    h = await startHarness({ yaml: `${BASE_YAML}  undated_net_days: 3\n`, start: nineAm(TODAY).toISOString() });
    await h.seed('customers', customerWith('cus_Card', 'Card Co'));
    await h.seed('invoices', cardFinalized(5));
    const plan = await planCollections(h.deps);
    expect(plan.items.map((i) => [i.step.id, i.dueOn, i.daysPastDue])).toEqual([['payment_failed_1', addDay(TODAY, -2), 2]]);
  });

  it('are left alone with undated_invoices: skip; and nothing happens with enabled: false', async () => {
    h = await startHarness({ yaml: `${BASE_YAML}  undated_invoices: skip\n`, start: nineAm(TODAY).toISOString() });
    await h.seed('customers', customerWith('cus_Card', 'Card Co'));
    await h.seed('invoices', cardFinalized(20));
    await h.seed('invoices', fx.invoice({ id: 'in_Sent', customer: 'cus_Card', collection_method: 'send_invoice', created: fx.unix('2026-10-01T12:00:00Z'), due_date: Math.floor(nineAm(addDay(TODAY, -1)).getTime() / 1000) }));
    expect((await planCollections(h.deps)).items.map((i) => i.invoiceId)).toEqual(['in_Sent']);
    const off = testConfig({ yaml: `${BASE_YAML}  enabled: false\n` });
    expect(await h.run({ config: off })).toMatchObject({ due: 0, performed: 0 });
    expect(h.sendCalls()).toEqual([]);
  });
});

describe('billops.yml collections:', () => {
  it('ships a default policy', () => {
    const c = parseBillopsYaml('').collections;
    expect(c).toMatchObject({ enabled: true, owner_metadata_key: 'account_owner', undated_invoices: 'finalized', undated_net_days: 0, max_pause_days: 60, default_segment: 'self_serve' });
    expect(c.segments.map((s) => [s.name, s.match ?? null, s.steps.map((st) => `${st.id}@${st.day}`)])).toEqual([
      ['enterprise', { collection_method: 'send_invoice' }, ['due_soon@-3', 'overdue_1@1', 'overdue_7@7', 'escalate_owner@14', 'formal@30']],
      ['self_serve', null, ['payment_failed_1@1', 'payment_failed_7@7', 'escalate_owner@14', 'formal@30']],
    ]);
    expect(parseBillopsYaml('').schedules.collections).toBe('0 9 * * *');
  });

  it.each([
    ['collections:\n  default_segment: nope\n', /collections\.default_segment: "nope" is not one of the segments \(enterprise, self_serve\)/],
    ['collections:\n  segments:\n    - name: self_serve\n      steps: [{ id: x, day: 1, kind: reminder }]\n', /collections\.segments\.0\.steps\.0: a step must do something/],
    ['collections:\n  segments:\n    - name: self_serve\n      steps: [{ id: x, day: 3, kind: reminder, dm_owner: true }, { id: x, day: 1, kind: reminder, dm_owner: true }]\n', /step "x" is listed twice[\s\S]*steps are listed by day/],
    ['collections:\n  segments:\n    - { name: a, steps: [{ id: x, day: 1, kind: reminder, dm_owner: true }] }\n    - { name: self_serve, steps: [{ id: y, day: 1, kind: reminder, dm_owner: true }] }\n', /segment "a" has no match, so only default_segment could choose it/],
    ['collections:\n  segments:\n    - { name: self_serve, match: { min_amount: lots }, steps: [{ id: y, day: 1, kind: reminder, dm_owner: true }] }\n', /min_amount: must be an amount with its currency/],
    ['collections:\n  segments:\n    - { name: self_serve, steps: [{ id: y, day: 1, kind: nag, dm_owner: true }] }\n', /steps\.0\.kind: Invalid option/],
    ['collections:\n  segments:\n    - { name: self_serve, steps: [{ id: y, day: 1, kind: reminder, post_channel: general }] }\n', /post_channel: must be `collections`, `finance`/],
    ['collections:\n  lead: bob\n', /collections\.lead: must be a Slack user id/],
    ['collections:\n  max_pause_days: 0\n', /collections\.max_pause_days/],
  ])('refuses %j', (yaml, message) => {
    expect(() => parseBillopsYaml(yaml)).toThrow(message);
  });
});

describe('the collections job in the scheduler', () => {
  it('uses the notifier the Slack side gives it (JobDeps.collectionsNotifier), and is unavailable without Slack', async () => {
    h = await startHarness({ start: nineAm(TODAY).toISOString() });
    await h.seed('customers', customerWith('cus_Job', 'Job Co', 'U0OWNERJOB'));
    await h.seed('invoices', fx.invoice({ id: 'in_Job', customer: 'cus_Job', created: Math.floor(nineAm(addDay(TODAY, -14)).getTime() / 1000) - 60, amount_due: 1000 }));
    const config = h.config;
    const none = buildJobDefinitions({ config }, JOB_BODIES).find((d) => d.name === 'collections');
    expect(none).toMatchObject({ unavailable: 'SLACK_BOT_TOKEN is not set', schedule: '0 9 * * *' });

    const seen: Array<[string, string, CollectionsNotice['audience']]> = [];
    const blockKit: CollectionsNotifier = {
      dm: async (u, n) => (seen.push(['dm', u, n.audience]), { channel: `D${u}`, ts: '1.1' }),
      postChannel: async (c, n) => (seen.push(['post', c, n.audience]), { channel: c, ts: '1.2' }),
    };
    const slack = new WebClient('xoxb-unused');
    const def = buildJobDefinitions({ config, slack, collectionsNotifier: blockKit }, JOB_BODIES).find((d) => d.name === 'collections');
    const summary = await def?.run?.({
      db: h.db.db,
      config,
      clock: h.clock,
      logger: h.deps.logger,
      runId: 1n,
      jobName: 'collections',
      fireTime: h.clock.now(),
      trigger: 'schedule',
      actor: { kind: 'scheduler', id: 'collections' },
      signal: new AbortController().signal,
    });
    expect(summary).toMatchObject({ day: TODAY, performed: 1, failed: 0, steps: ['in_Job:escalate_owner:done'] });
    expect(seen).toEqual([
      ['dm', 'U0OWNERJOB', 'owner'],
      ['post', 'C0COLLECT1', 'channel'],
    ]);
    const performed = await h.db.db.selectFrom('audit_log').select(['actor_kind', 'actor_id', 'source']).where('action', '=', 'collections.step_performed').execute();
    expect(performed).toEqual([{ actor_kind: 'scheduler', actor_id: 'collections', source: 'scheduler' }]);
  });
});
