import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configRoleChecker, createRequest } from '../../src/approvals/index.js';
import { getException } from '../../src/exceptions/index.js';
import { silentLogger } from '../../src/util/index.js';
import {
  APPROVALS_CHANNEL,
  APPROVER_1,
  type ApprovalsApp,
  GLOBEX,
  type OpenedView,
  REQUESTER,
  moneyValues as v,
  startApprovalsApp,
} from '../support/approvals-slack.js';
import { BLOCK_KIT_LIMITS } from '../support/block-kit-limits.js';
import type { RecordedResponse } from '../support/fake-slack.js';
import { blockActionPayload, sendEvent, sendInteraction } from '../support/slack-requests.js';
import { addException, addMany, button, buttons, shownText } from './exception-fixtures.js';

/**
 * Where money actions start and where people find them: the `/billing` subcommands open the right
 * modal prefilled (or say which word is wrong), the account card's buttons open theirs, the Home tab
 * lists approvals waiting for the person and their own requests, and resolving a high-value
 * exception asks for approval instead.
 */

let t: ApprovalsApp;

beforeAll(async () => {
  t = await startApprovalsApp();
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  t.slack.assertNoViolations();
});

interface InputBlock {
  block_id: string;
  element: { initial_option?: { value: string }; initial_value?: string; initial_date?: string; options?: Array<{ value: string }> };
}

function input(view: OpenedView, blockId: string): InputBlock {
  const b = view.blocks.find((x) => x['block_id'] === blockId);
  if (!b) throw new Error(`no ${blockId} in the modal: ${view.blocks.map((x) => String(x['block_id'])).join(', ')}`);
  return b as unknown as InputBlock;
}

/** `/billing <text>` that opens a modal: the modal. */
async function modalFor(text: string, user = REQUESTER): Promise<OpenedView> {
  const from = t.slack.calls.length;
  const cmd = await t.slash(text, user);
  expect(cmd.status).toBe(200);
  return t.openedView(from);
}

/** `/billing <text>` that answers in words: the ephemeral answer. */
async function answerTo(text: string, user = REQUESTER): Promise<RecordedResponse> {
  const from = t.slack.calls.length;
  const cmd = await t.slash(text, user);
  const r = await t.slack.waitForResponse({ id: cmd.responseId, timeoutMs: 10_000 });
  expect(t.slack.callsTo('views.open').filter((c) => t.slack.calls.indexOf(c) >= from)).toEqual([]);
  return r;
}

describe('/billing money subcommands', () => {
  it('trial <sub_…> <days> opens the Extend trial modal with that subscription and the days filled in', async () => {
    const view = await modalFor('trial sub_GlobexTrial 14');
    expect(view.title.text).toBe('Extend trial');
    expect(input(view, 'money_subscription').element.initial_option?.value).toBe('sub_GlobexTrial');
    expect(input(view, 'money_days').element.initial_value).toBe('14');
    expect(shownText(view.blocks)).toContain('*Globex Corporation* · `cus_Globex0001`');

    const res = await t.submit(view, {
      money_subscription: { subscription: v.select('sub_GlobexTrial') },
      money_days: { days: v.text('14') },
      money_trial_end: { trial_end: v.date(null) },
      money_note: { note: v.text('Pilot runs two more weeks') },
    });
    expect(res).toEqual({ status: 200, body: '' });
    const post = await t.approvalPost();
    // 14 days after the current trial end (2026-11-10).
    expect(shownText(post.call.args['blocks'])).toContain("*Extend Globex Corporation's trial from 2026-11-10 to 2026-11-24*");
  });

  it('trial <customer> <YYYY-MM-DD> fills the date; credit "<name>" <amount> <reason> fills amount, currency and reason', async () => {
    const trial = await modalFor(`trial ${GLOBEX} 2026-12-01`);
    expect(input(trial, 'money_trial_end').element.initial_date).toBe('2026-12-01');
    expect(input(trial, 'money_subscription').element.options?.map((o) => o.value)).toEqual(['sub_GlobexTrial']);

    const credit = await modalFor('credit "Globex Corporation" 1,250.5 service_outage');
    expect(credit.title.text).toBe('Apply credit');
    expect(input(credit, 'money_amount').element.initial_value).toBe('1250.50');
    expect(input(credit, 'money_currency').element.initial_option?.value).toBe('USD');
    expect(input(credit, 'money_reason').element.initial_option?.value).toBe('service_outage');
  });

  it.each([
    ['writeoff in_GlobexBig', 'Write off invoice', 'money_invoice', 'in_GlobexBig'],
    ['void in_GlobexSmall', 'Void invoice', 'money_invoice', 'in_GlobexSmall'],
    ['pause sub_GlobexPro', 'Pause collection', 'money_subscription', 'sub_GlobexPro'],
    ['cancel sub_GlobexPro', 'Cancel at period end', 'money_subscription', 'sub_GlobexPro'],
  ])('%s opens %s with it chosen', async (text, title, block, value) => {
    const view = await modalFor(text);
    expect(view.title.text).toBe(title);
    expect(input(view, block).element.initial_option?.value).toBe(value);
  });

  it.each([
    ['pause Globex', '"Globex" matches 2 customers: Globex Corporation (`cus_Globex0001`), Globex West (`cus_GlobexWest01`). Say which one'],
    ['credit Globex Corporation 250', '"Corporation" is not an amount. A customer name of several words goes in quotes: `/billing credit "Acme Corp" 250`.'],
    [`credit ${GLOBEX} 250 because`, '"because" is not a reason code. Use one of: goodwill, service_outage, billing_error, sales_concession, duplicate_charge.'],
    [`credit ${GLOBEX} 12,34`, '"12,34" is not an amount to credit: Amount "12,34" is ambiguous'],
    [`trial ${GLOBEX} 2026-13`, '"2026-13" is neither a number of days nor a date (YYYY-MM-DD).'],
    ['void in_GlobexPaid', 'Invoice `in_GlobexPaid` is not open (paid, void or draft): void invoice does not apply to it.'],
    ['resume sub_GlobexPro', '`sub_GlobexPro` is active: resume collection does not apply to it.'],
    ['resume Globex Corporation', 'Globex Corporation has no subscription that resume collection applies to.'],
    ['uncancel Initech', 'No customer matches "Initech".'],
    ['void in_GlobexBig in_GlobexSmall', 'One at a time: "in_GlobexSmall" is one word too many.\nUsage: `/billing void <in_… | customer>`'],
  ])('%s answers only the person, naming what is wrong', async (text, message) => {
    const r = await answerTo(text);
    expect(r.body['response_type']).toBe('ephemeral');
    expect(String(r.body['text'])).toContain(message);
  });
});

describe('the account card', () => {
  it('offers the money actions that fit, in rows of at most five, and a button opens its modal', async () => {
    const cmd = await t.slash(`account ${GLOBEX}`);
    const card = await t.slack.waitForResponse({ id: cmd.responseId, timeoutMs: 10_000 });
    const blocks = card.body['blocks'] as Array<{ type: string; elements?: unknown[] }>;
    expect(blocks.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.messageBlocks);
    const rows = blocks.filter((b) => b.type === 'actions');
    expect(rows.map((r) => r.elements?.length)).toEqual([5, 1]);
    expect(buttons(blocks).map((b) => b.text)).toEqual(['Apply credit', 'Extend trial', 'Pause collection', 'Cancel at period end', 'Void invoice', 'Write off invoice']);

    const pause = button(blocks, 'Pause collection', GLOBEX);
    const from = t.slack.calls.length;
    const res = await sendInteraction(
      t.baseUrl,
      t.signingSecret,
      blockActionPayload({ actionId: pause.actionId, blockId: pause.blockId, value: pause.value, ephemeral: true, responseUrl: t.slack.responseUrl('card-click') }),
    );
    expect(res.status).toBe(200);
    const view = await t.openedView(from);
    expect(view.title.text).toBe('Pause collection');
    // Both live subscriptions can be paused: the person picks one.
    expect(input(view, 'money_subscription').element.options?.map((o) => o.value).sort()).toEqual(['sub_GlobexPro', 'sub_GlobexTrial']);
    expect(input(view, 'money_subscription').element.initial_option).toBeUndefined();
    expect(input(view, 'money_behavior').element.initial_option?.value).toBe('keep_as_draft');

    // Submitted, the answer goes to the card's response_url, under the card.
    const submitted = await t.submit(view, {
      money_subscription: { subscription: v.select('sub_GlobexPro') },
      money_behavior: { behavior: v.select('keep_as_draft') },
      money_resumes_at: { resumes_at: v.date('2026-11-20') },
      money_note: { note: v.text('Promise to pay by the 20th') },
    });
    expect(submitted).toEqual({ status: 200, body: '' });
    const told = await t.slack.waitForResponse({ id: 'card-click', timeoutMs: 10_000 });
    expect(told.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(told.body['text'])).toContain(
      '*Pause collection for Globex Corporation until 2026-11-20 (invoices kept as drafts)* needs 1 approval — posted in <#C0APPROVALS>',
    );
  });
});

describe('the Home tab and /billing approvals', () => {
  async function home(user: string): Promise<unknown[]> {
    const from = t.slack.calls.length;
    await sendEvent(t.baseUrl, t.signingSecret, { type: 'app_home_opened', user, channel: 'D0HOME0001', tab: 'home' });
    const call = await t.slack.waitForCall('views.publish', { match: (c) => c.args['user_id'] === user && t.slack.calls.indexOf(c) >= from, timeoutMs: 10_000 });
    return (call.args['view'] as { blocks: unknown[] }).blocks;
  }

  it('shows an approver what waits for them with Approve / Reject, and the requester their own requests', async () => {
    const from = t.slack.calls.length;
    const view = await modalFor('cancel sub_GlobexPro');
    await t.submit(view, { money_subscription: { subscription: v.select('sub_GlobexPro') }, money_note: { note: v.text('Customer is moving to annual billing elsewhere') } });
    const post = await t.approvalPost(from);
    const id = buttons(post.call.args['blocks']).find((b) => b.text === 'Approve')?.value ?? '';

    const title = shownText(post.call.args['blocks']).split('\n')[0]?.replace(/^:\w+: /, '') ?? '';
    expect(title).toMatch(/^\*Cancel Globex Corporation's subscription at period end \(\d{4}-\d{2}-\d{2}\)\*$/);

    const bob = await home(APPROVER_1);
    const bobText = shownText(bob);
    expect(bobText).toContain('Approvals waiting for you\n');
    expect(bobText).toContain(`${title}\nRequested by <@${REQUESTER}> 0m ago · expires 2026-11-04 09:00`);
    expect(buttons(bob).filter((b) => b.value === id).map((b) => b.text)).toEqual(['Approve', 'Reject']);
    expect(bob.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.viewBlocks);

    const alice = await home(REQUESTER);
    const aliceText = shownText(alice);
    expect(aliceText).toContain(`Your requests\n`);
    expect(aliceText).toContain(`*#${id} ${title.slice(1)}\n:hourglass_flowing_sand: Waiting for 1 more approval`);
    // The requester is not asked to approve their own request.
    expect(buttons(alice).filter((b) => b.value === id)).toEqual([]);

    // `/billing approvals` says the same, only to the person.
    const list = await answerTo('approvals', APPROVER_1);
    expect(shownText(list.body['blocks'])).toContain(`Waiting for your approval`);
    expect(shownText(list.body['blocks'])).toContain(title);

    // Approving from the Home tab: the tab comes back with what happened; the channel message is brought up to date.
    const approve = button(bob, 'Approve', id);
    const clickFrom = t.slack.calls.length;
    await sendInteraction(
      t.baseUrl,
      t.signingSecret,
      blockActionPayload({ actionId: approve.actionId, blockId: approve.blockId, value: id, view: { type: 'home', callbackId: '' }, user: { id: APPROVER_1 } }),
    );
    const republished = await t.slack.waitForCall('views.publish', {
      match: (c) => c.args['user_id'] === APPROVER_1 && t.slack.calls.indexOf(c) >= clickFrom,
      timeoutMs: 10_000,
    });
    expect(shownText((republished.args['view'] as { blocks: unknown[] }).blocks)).toContain(`You approved request #${id}`);
    await t.slack.waitForCall('chat.update', { match: (c) => c.args['ts'] === post.ts && t.slack.calls.indexOf(c) >= clickFrom, timeoutMs: 10_000 });
    expect(shownText(t.slack.message(APPROVALS_CHANNEL, post.ts)?.blocks)).toContain(`Approved by <@${APPROVER_1}>`);
  });
});

describe('resolving a high-value exception', () => {
  it('over the threshold the Resolve modal says so and its submission asks for approval instead of resolving', async () => {
    const big = await addException(t.db.db, {
      kind: 'missing_in_gl',
      severity: 'critical',
      amount: 750_000n,
      customerId: GLOBEX,
      customerName: 'Globex Corporation',
      stripeId: 'ch_GlobexBig0001',
      openedAt: new Date('2026-10-29T09:00:00Z'),
    });
    const from = t.slack.calls.length;
    await sendInteraction(
      t.baseUrl,
      t.signingSecret,
      blockActionPayload({ actionId: 'exception_resolve', value: big.toString(), ephemeral: true, responseUrl: t.slack.responseUrl('resolve-big') }),
    );
    const modal = await t.openedView(from);
    expect(modal.submit?.text).toBe('Request approval');
    expect(shownText(modal.blocks)).toContain('This is a high-value exception: submitting sends an approval request');

    const res = await t.submit(modal, {
      resolution_code: { code: v.select('written_off') },
      resolution_note: { note: v.text('Customer went bankrupt; agreed with the controller') },
    });
    expect(res).toEqual({ status: 200, body: '' });
    const post = await t.approvalPost(from);
    expect(shownText(post.call.args['blocks'])).toContain(`*Resolve exception #${big} (Missing in GL, $7,500.00) as written_off*`);
    const told = await t.slack.waitForResponse({ id: 'resolve-big', timeoutMs: 10_000 });
    expect(String(told.body['text'])).toContain('needs 1 approval');
    // Not resolved: it waits for the approver.
    expect((await getException(t.db.db, big)).status).toBe('open');
  });

  it('under the threshold it resolves at once, as before', async () => {
    const small = await addException(t.db.db, {
      kind: 'missing_in_gl',
      severity: 'low',
      amount: 12_000n,
      customerName: 'Globex Corporation',
      stripeId: 'ch_GlobexSmall001',
      openedAt: new Date('2026-10-31T09:00:00Z'),
    });
    const from = t.slack.calls.length;
    await sendInteraction(t.baseUrl, t.signingSecret, blockActionPayload({ actionId: 'exception_resolve', value: small.toString(), ephemeral: true, responseUrl: t.slack.responseUrl('resolve-small') }));
    const modal = await t.openedView(from);
    expect(modal.submit?.text).toBe('Resolve');
    await t.submit(modal, { resolution_code: { code: v.select('posted_in_gl') }, resolution_note: { note: v.text('Posted on Nov 1') } });
    await t.slack.waitForResponse({ id: 'resolve-small', timeoutMs: 10_000 });
    expect((await getException(t.db.db, small)).status).toBe('resolved');
  });
});

describe('a busy Home tab', () => {
  it('stays within 100 blocks with many exceptions, approvals waiting and own requests, and counts the rest', async () => {
    await addMany(t.db.db, 60, t.clock.now(), { assignee: APPROVER_1 });
    const deps = { db: t.db.db, config: t.config, clock: t.clock, logger: silentLogger, roles: configRoleChecker(t.config) };
    const credit = (i: number, by: string) =>
      createRequest(deps, {
        params: { action: 'credit', customerId: GLOBEX, amount: BigInt(10_000 + i), currency: 'USD', reasonCode: 'goodwill', note: `busy ${by} ${i}` },
        requester: { userId: by },
      });
    for (let i = 0; i < 25; i++) await credit(i, REQUESTER);
    for (let i = 0; i < 12; i++) await credit(i, APPROVER_1);

    const from = t.slack.calls.length;
    await sendEvent(t.baseUrl, t.signingSecret, { type: 'app_home_opened', user: APPROVER_1, channel: 'D0HOME0001', tab: 'home' });
    const call = await t.slack.waitForCall('views.publish', { match: (c) => c.args['user_id'] === APPROVER_1 && t.slack.calls.indexOf(c) >= from, timeoutMs: 10_000 });
    expect(call.response['ok']).toBe(true);
    const blocks = (call.args['view'] as { blocks: unknown[] }).blocks;
    expect(blocks.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.viewBlocks);
    const text = shownText(blocks);
    expect(text).toMatch(/…and \d+ more waiting: `\/billing approvals` lists them\./);
    expect(text).toMatch(/…and \d+ more: `\/billing approvals` lists them\./);
    expect(text).toContain('…and 35 more: `/billing exceptions mine` pages through them all.');
    expect(buttons(blocks).filter((b) => b.text === 'Approve')).toHaveLength(10);
  });
});
