import { normalizeObjects } from '../../src/stripe/index.js';
import { type TestApp, startTestApp } from './app.js';
import { ManualClock } from './clock.js';
import { FakeStripe } from './fake-stripe.js';
import type { RecordedCall } from './fake-slack.js';
import {
  SLACK_TEST_IDS,
  type StateValues,
  blockActionPayload,
  sendInteraction,
  sendSlashCommand,
  stateValue,
  viewSubmissionPayload,
} from './slack-requests.js';
import * as fx from './stripe-fixtures.js';

/**
 * Money actions in Slack end to end: the real Bolt app (signed requests, fake Slack Web API) with its
 * approvals outbox worker executing against a fake Stripe, and the Stripe objects the actions are
 * about seeded both in the fake and in billops' copy.
 */

export const REQUESTER: string = SLACK_TEST_IDS.userId; // U0ALICE01
export const APPROVER_1 = 'U0BOB0001';
export const APPROVER_2 = 'U0CAROL01';
export const OUTSIDER = 'U0DAVE001';
export const APPROVALS_CHANNEL = 'C0APPROVALS';
export const NOW = new Date('2026-11-01T09:00:00Z');

export const GLOBEX = 'cus_Globex0001';
export const GLOBEX_WEST = 'cus_GlobexWest01';
export const TANAKA = 'cus_TanakaJp0001';
export const MANAMA = 'cus_ManamaBh0001';

export interface ApprovalsApp extends TestApp {
  clock: ManualClock;
  stripe: FakeStripe;
  /** `/billing <text>` as `user`; resolves when the app has answered the HTTP request (the ack). */
  slash(text: string, user?: string): Promise<{ responseId: string; status: number }>;
  /** The view of the last views.open call at or after `from` (an index into the recorded calls). */
  openedView(from?: number): Promise<OpenedView>;
  /** Submit a modal as `user`: the HTTP body Bolt answered with (`''` when the modal closes). */
  submit(view: OpenedView, values: StateValues, user?: string): Promise<{ status: number; body: string }>;
  /** Click a button of a message in a channel (the message as stored by the fake Slack). */
  clickInChannel(channel: string, ts: string, actionText: string, user: string, opts?: { triggerId?: string }): Promise<number>;
  /** Click a button as it was on a message (a stale copy the person still sees). */
  clickButton(channel: string, ts: string, button: { actionId: string; blockId: string; value: string }, user: string): Promise<number>;
  /** The request message posted in the approvals channel (the first one at or after `from`). */
  approvalPost(from?: number): Promise<{ ts: string; call: RecordedCall }>;
  close(): Promise<void>;
}

export interface OpenedView {
  callback_id: string;
  private_metadata: string;
  title: { text: string };
  submit?: { text: string };
  blocks: Array<Record<string, unknown>>;
}

/** billops.yml for these tests: two approvers, anyone may request, the approvals channel, Stripe on the fake. */
export function approvalsYaml(stripePort: number, extra = ''): string {
  return `
org:
  timezone: UTC
slack:
  channels:
    approvals: ${APPROVALS_CHANNEL}
roles:
  approver: [${APPROVER_1}, ${APPROVER_2}]
stripe:
  api_url: http://127.0.0.1:${stripePort}
  max_network_retries: 0
${extra}`;
}

/** The Stripe objects: Globex (USD) with a trial, an active plan and two open invoices; a JPY and a BHD customer. */
export function approvalsFixtures(): Array<{ resource: 'customers' | 'subscriptions' | 'invoices'; object: { id: string; object: string } }> {
  const ago = (days: number) => fx.FIXTURE_NOW - days * fx.DAY;
  return [
    { resource: 'customers', object: fx.customer({ id: GLOBEX, name: 'Globex Corporation', email: 'ap@globex.example', created: ago(300) }) },
    { resource: 'customers', object: fx.customer({ id: GLOBEX_WEST, name: 'Globex West', email: 'ap@globex-west.example', created: ago(200) }) },
    { resource: 'customers', object: fx.customer({ id: TANAKA, name: 'Tanaka Shoji', email: 'keiri@tanaka-shoji.example', currency: 'jpy', created: ago(100) }) },
    { resource: 'customers', object: fx.customer({ id: MANAMA, name: 'Manama Trading', email: 'ap@manama.example', currency: 'bhd', created: ago(100) }) },
    {
      resource: 'subscriptions',
      object: fx.subscription({ id: 'sub_GlobexPro', customer: GLOBEX, created: ago(200), price: { unit_amount: 49900, nickname: 'Pro' } }),
    },
    {
      resource: 'subscriptions',
      object: fx.subscription({ id: 'sub_GlobexTrial', customer: GLOBEX, status: 'trialing', created: ago(5), price: { unit_amount: 9900, nickname: 'Analytics' } }),
    },
    {
      resource: 'invoices',
      object: fx.invoice({ id: 'in_GlobexBig', number: 'GLOBEX-0007', customer: GLOBEX, collection_method: 'send_invoice', created: ago(40), amount_due: 750_000 }),
    },
    {
      resource: 'invoices',
      object: fx.invoice({ id: 'in_GlobexSmall', number: 'GLOBEX-0008', customer: GLOBEX, collection_method: 'send_invoice', created: ago(10), amount_due: 12_000 }),
    },
    {
      resource: 'invoices',
      object: fx.invoice({ id: 'in_GlobexPaid', number: 'GLOBEX-0006', customer: GLOBEX, status: 'paid', created: ago(70), amount_due: 49_900 }),
    },
  ];
}

let seq = 0;

export async function startApprovalsApp(opts: { yaml?: string } = {}): Promise<ApprovalsApp> {
  const clock = new ManualClock(NOW);
  const stripe = await FakeStripe.start({ now: () => Math.floor(clock.now().getTime() / 1000) });
  const t = await startTestApp({ yaml: approvalsYaml(stripe.config.port, opts.yaml), clock });
  for (const user of [REQUESTER, APPROVER_1, APPROVER_2, OUTSIDER]) t.slack.users.set(user, { name: user.toLowerCase(), display_name: user.toLowerCase() });
  const at = new Date(NOW.getTime() - 60_000);
  for (const { resource, object } of approvalsFixtures()) {
    stripe.add(resource, object as never);
    await normalizeObjects(t.db.db, [{ object: fx.toWire(object), version: { at, eventId: null } }], at);
  }

  const app: ApprovalsApp = {
    ...t,
    clock,
    stripe,
    async slash(text, user = REQUESTER) {
      const responseId = `cmd-${++seq}`;
      const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text, user_id: user, response_url: t.slack.responseUrl(responseId) });
      return { responseId, status: res.status };
    },
    async openedView(from = 0) {
      const call = await t.slack.waitForCall('views.open', { match: (c) => t.slack.calls.indexOf(c) >= from, timeoutMs: 10_000 });
      return call.args['view'] as OpenedView;
    },
    async submit(view, values, user = REQUESTER) {
      const payload = viewSubmissionPayload({
        callbackId: view.callback_id,
        privateMetadata: view.private_metadata,
        values,
        blocks: view.blocks,
        title: view.title.text,
        user: { id: user, username: user.toLowerCase() },
      });
      const res = await sendInteraction(t.baseUrl, t.signingSecret, payload);
      return { status: res.status, body: res.text };
    },
    async clickInChannel(channel, ts, actionText, user, o = {}) {
      const stored = t.slack.message(channel, ts);
      if (!stored) throw new Error(`no message ${channel}/${ts}`);
      const blocks = (stored.blocks ?? []) as Array<{ type: string; block_id?: string; elements?: Array<{ type: string; action_id?: string; value?: string; text?: { text: string } }> }>;
      for (const b of blocks) {
        const e = b.type === 'actions' ? b.elements?.find((x) => x.type === 'button' && x.text?.text === actionText) : undefined;
        if (!e?.action_id) continue;
        const payload = blockActionPayload({
          actionId: e.action_id,
          ...(b.block_id ? { blockId: b.block_id } : {}),
          ...(e.value !== undefined ? { value: e.value } : {}),
          channelId: channel,
          message: { ts, text: stored.text ?? '', blocks: stored.blocks as unknown[] },
          user: { id: user, username: user.toLowerCase() },
          ...(o.triggerId ? { triggerId: o.triggerId } : {}),
        });
        const res = await sendInteraction(t.baseUrl, t.signingSecret, payload);
        return res.status;
      }
      throw new Error(`no "${actionText}" button on ${channel}/${ts}`);
    },
    async clickButton(channel, ts, button, user) {
      const payload = blockActionPayload({
        actionId: button.actionId,
        blockId: button.blockId,
        value: button.value,
        channelId: channel,
        message: { ts },
        user: { id: user, username: user.toLowerCase() },
      });
      return (await sendInteraction(t.baseUrl, t.signingSecret, payload)).status;
    },
    async approvalPost(from = 0) {
      const call = await t.slack.waitForCall('chat.postMessage', {
        match: (c) => c.args['channel'] === APPROVALS_CHANNEL && t.slack.calls.indexOf(c) >= from,
        timeoutMs: 10_000,
      });
      return { ts: String(call.response['ts']), call };
    },
    async close() {
      await t.close();
      await stripe.close();
    },
  };
  return app;
}

/** Modal state values, as in `{ money_amount: { amount: moneyValues.text('250') } }` (block id, then the field's action id). */
export const moneyValues = {
  text: (value: string | null) => stateValue.plainText(value),
  select: (value: string) => stateValue.staticSelect(value),
  date: (value: string | null) => stateValue.datepicker(value),
} as const;
