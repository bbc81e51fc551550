import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { runJobOnce } from '../../src/jobs/index.js';
import {
  APPROVALS_CHANNEL,
  APPROVER_1,
  APPROVER_2,
  type ApprovalsApp,
  GLOBEX,
  NOW,
  OUTSIDER,
  REQUESTER,
  moneyValues as v,
  startApprovalsApp,
} from '../support/approvals-slack.js';
import type { RecordedCall } from '../support/fake-slack.js';
import { type ShownButton, buttons, shownText } from './exception-fixtures.js';

/**
 * Approving and rejecting money actions in the approvals channel, the way approvers do it: a
 * requester asks for a credit with `/billing credit` and its modal, the request appears in the
 * channel with Approve / Reject, and the clicks arrive signed. What is asserted is what people see
 * (the message in place, the ephemeral refusals, the requester's DM) and what reaches Stripe.
 */

let t: ApprovalsApp;

beforeAll(async () => {
  // One Stripe attempt: a refusal fails the request at once, for the Retry test.
  t = await startApprovalsApp({ yaml: 'approvals:\n  executor:\n    max_attempts: 1\n' });
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  t.slack.assertNoViolations();
});

interface Posted {
  id: string;
  ts: string;
  /** The buttons as first posted. */
  posted: ShownButton[];
}

/** `/billing credit` and its modal, submitted by the requester: the request as posted in the approvals channel. */
async function requestCredit(amount: string, note: string): Promise<Posted> {
  const from = t.slack.calls.length;
  const cmd = await t.slash(`credit ${GLOBEX} ${amount} goodwill`);
  expect(cmd.status).toBe(200);
  const view = await t.openedView(from);
  const res = await t.submit(view, {
    money_amount: { amount: v.text(amount) },
    money_currency: { currency: v.select('USD') },
    money_reason: { reason: v.select('goodwill') },
    money_note: { note: v.text(note) },
  });
  expect(res).toEqual({ status: 200, body: '' });
  const post = await t.approvalPost(from);
  const approve = buttons(post.call.args['blocks']).find((b) => b.text === 'Approve');
  if (!approve) throw new Error('the request was posted without an Approve button');
  return { id: approve.value, ts: post.ts, posted: buttons(post.call.args['blocks']) };
}

function shownIn(ts: string): string {
  return shownText(t.slack.message(APPROVALS_CHANNEL, ts)?.blocks);
}

function updatesOf(ts: string): RecordedCall[] {
  return t.slack.callsTo('chat.update').filter((c) => c.args['ts'] === ts);
}

function ephemeralTo(user: string, from: number) {
  return t.slack.waitForCall('chat.postEphemeral', { match: (c) => c.args['user'] === user && t.slack.calls.indexOf(c) >= from, timeoutMs: 10_000 });
}

function dmTo(user: string, text: string, from = 0) {
  const channel = t.slack.dmChannelFor(user);
  return t.slack.waitForCall('chat.postMessage', {
    match: (c) => c.args['channel'] === channel && String(c.args['text']).includes(text) && t.slack.calls.indexOf(c) >= from,
    timeoutMs: 15_000,
  });
}

function stripeWritesFor(id: string) {
  return t.stripe.writes.filter((w) => w.idempotencyKey === `approval:${id}:credit`);
}

describe('the approvals channel', () => {
  it('posts the request with who asked, what, why, how many approvals and Approve / Reject', async () => {
    const r = await requestCredit('250', 'SLA credit for the Oct 30 outage');
    const text = shownIn(r.ts);
    expect(text).toContain('*Credit $250.00 to Globex Corporation (Goodwill)*');
    expect(text).toContain(`*Customer*\nGlobex Corporation \`${GLOBEX}\``);
    expect(text).toContain('*Amount*\n$250.00');
    expect(text).toContain('*Reason*\nGoodwill');
    expect(text).toContain(`*Requested by*\n<@${REQUESTER}> 2026-11-01 09:00`);
    expect(text).toContain('*Approvals*\n0 of 1');
    expect(text).toContain('*Expires*\n2026-11-04 09:00');
    expect(text).toContain('*Note*\nSLA credit for the Oct 30 outage');
    expect(text).toContain('Waiting for 1 more approval');
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks).map((b) => [b.text, b.value])).toEqual([
      ['Approve', r.id],
      ['Reject', r.id],
    ]);
    // The requester is told where it went, only they see it.
    const told = await t.slack.waitForResponse({ match: (x) => String(x.body['text']).includes(`Request #${r.id}`), timeoutMs: 10_000 });
    expect(told.body['response_type']).toBe('ephemeral');
    expect(String(told.body['text'])).toContain(`needs 1 approval — posted in <#${APPROVALS_CHANNEL}>`);
  });

  it('refuses the requester approving their own request and a non-approver, only to them; the message stays as it was', async () => {
    const r = await requestCredit('260', 'Refund for the duplicate seat');
    const before = JSON.stringify(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks);

    let from = t.slack.calls.length;
    expect(await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Approve', REQUESTER)).toBe(200);
    const own = await ephemeralTo(REQUESTER, from);
    expect(own.args['channel']).toBe(APPROVALS_CHANNEL);
    expect(String(own.args['text'])).toContain('You requested this, so you cannot approve it: another approver has to.');

    from = t.slack.calls.length;
    expect(await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Approve', OUTSIDER)).toBe(200);
    const outsider = await ephemeralTo(OUTSIDER, from);
    expect(String(outsider.args['text'])).toContain('Only approvers (roles.approver or roles.admin in billops.yml) can approve money actions.');

    expect(updatesOf(r.ts)).toHaveLength(0);
    expect(JSON.stringify(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks)).toBe(before);
    expect(stripeWritesFor(r.id)).toHaveLength(0);
  });

  it('over the two-approver band needs two different approvers: the same one twice is refused; then it is executed once', async () => {
    const r = await requestCredit('6,000', 'Contractual credit for the migration delay');
    expect(shownIn(r.ts)).toContain('*Approvals*\n0 of 2');

    let from = t.slack.calls.length;
    await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Approve', APPROVER_1);
    await t.slack.waitForCall('chat.update', { match: (c) => c.args['ts'] === r.ts && t.slack.calls.indexOf(c) >= from, timeoutMs: 10_000 });
    expect(shownIn(r.ts)).toContain(`*Approvals*\n1 of 2: <@${APPROVER_1}>`);
    expect(shownIn(r.ts)).toContain('Waiting for 1 more approval');
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks).map((b) => b.text)).toEqual(['Approve', 'Reject']);

    from = t.slack.calls.length;
    const updatesBefore = updatesOf(r.ts).length;
    await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Approve', APPROVER_1);
    const twice = await ephemeralTo(APPROVER_1, from);
    expect(String(twice.args['text'])).toContain(`You already approved request #${r.id}`);
    expect(updatesOf(r.ts)).toHaveLength(updatesBefore);
    await t.app.outbox.idle();
    expect(stripeWritesFor(r.id)).toHaveLength(0);

    from = t.slack.calls.length;
    await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Approve', APPROVER_2);
    const dm = await dmTo(REQUESTER, `Your request #${r.id}`, from);
    expect(String(dm.args['text'])).toContain('was executed');
    await t.app.outbox.idle();
    const writes = stripeWritesFor(r.id);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.params).toMatchObject({ amount: '-600000', currency: 'usd', metadata: { billops_approval_id: r.id } });
    await t.slack.waitForCall('chat.update', {
      match: (c) => c.args['ts'] === r.ts && shownText(c.args['blocks']).includes(writes[0]?.objectId ?? '?'),
      timeoutMs: 10_000,
    });
    const shown = shownIn(r.ts);
    expect(shown).toContain(`Approved by <@${APPROVER_1}>, <@${APPROVER_2}> · executed 2026-11-01 09:00. Stripe \`${writes[0]?.objectId}\``);
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks)).toEqual([]);
    expect(String(dm.args['text'])).toContain(`Stripe ${writes[0]?.objectId}`);
  });

  it('Reject asks for a reason in a modal; the request never reaches Stripe and the requester gets the reason by DM', async () => {
    const r = await requestCredit('300', 'Customer asked for a discount');
    let from = t.slack.calls.length;
    await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Reject', APPROVER_1);
    const modal = await t.openedView(from);
    expect(modal.callback_id).toBe('approval_reject_modal');
    expect(modal.title.text).toBe(`Reject request #${r.id}`);
    expect(shownText(modal.blocks)).toContain('*Credit $300.00 to Globex Corporation (Goodwill)*');
    // Still pending while the modal is open.
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks).map((b) => b.text)).toEqual(['Approve', 'Reject']);

    const empty = await t.submit(modal, { reject_reason: { reason: v.text('  ') } }, APPROVER_1);
    expect(JSON.parse(empty.body)).toEqual({ response_action: 'errors', errors: { reject_reason: 'Say why it is rejected: the requester reads this.' } });

    from = t.slack.calls.length;
    const ok = await t.submit(modal, { reject_reason: { reason: v.text('Not covered by the discount policy') } }, APPROVER_1);
    expect(ok).toEqual({ status: 200, body: '' });
    const dm = await dmTo(REQUESTER, `Your request #${r.id}`, from);
    expect(String(dm.args['text'])).toContain('was rejected');
    expect(shownText(dm.args['blocks'])).toContain(`Rejected by <@${APPROVER_1}> 2026-11-01 09:00: Not covered by the discount policy`);
    await t.slack.waitForCall('chat.update', { match: (c) => c.args['ts'] === r.ts && t.slack.calls.indexOf(c) >= from, timeoutMs: 10_000 });
    expect(shownIn(r.ts)).toContain(`Rejected by <@${APPROVER_1}> 2026-11-01 09:00: Not covered by the discount policy`);
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks)).toEqual([]);

    // Approving it now (from a copy of the message that still shows the button) is refused; nothing ever went to Stripe for it.
    from = t.slack.calls.length;
    const staleApprove = r.posted.find((b) => b.text === 'Approve');
    if (!staleApprove) throw new Error('no Approve button was posted');
    await t.clickButton(APPROVALS_CHANNEL, r.ts, staleApprove, APPROVER_2);
    const late = await ephemeralTo(APPROVER_2, from);
    expect(String(late.args['text'])).toContain(`Request #${r.id} was already rejected`);
    await t.app.outbox.idle();
    expect(t.stripe.requests.filter((q) => q.idempotencyKey?.startsWith(`approval:${r.id}:`))).toEqual([]);
    const audit = await listAudit(t.db.db, { entity: { type: 'approval_request', id: r.id } });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['approval.requested', 'approval.rejected']));
  });
});

describe('twenty approvers clicking at once', () => {
  it('makes one Stripe write; the message is updated in place with the Stripe object id and the requester is DMed once', async () => {
    const r = await requestCredit('400', 'Goodwill after the support escalation');
    const from = t.slack.calls.length;
    const clickers = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? APPROVER_1 : APPROVER_2));
    const statuses = await Promise.all(clickers.map((u) => t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Approve', u)));
    expect(statuses).toEqual(Array(20).fill(200));

    // 19 of the clicks are told it was already approved (only the clicker sees it) …
    await t.slack.waitForCall('chat.postEphemeral', { match: (c) => t.slack.calls.indexOf(c) >= from, count: 19, timeoutMs: 20_000 });
    // … and the requester hears once that it was executed.
    const dm = await dmTo(REQUESTER, `Your request #${r.id}`, from);
    await t.app.outbox.idle();

    const writes = stripeWritesFor(r.id);
    expect(writes).toHaveLength(1);
    const objectId = writes[0]?.objectId ?? '';
    expect(objectId).toMatch(/^cbtxn_/);
    expect(t.stripe.writes.filter((w) => w.resource === 'customer_balance_transactions' && w.params['metadata'] && (w.params['metadata'] as Record<string, string>)['billops_approval_id'] === r.id)).toHaveLength(1);

    await t.slack.waitForCall('chat.update', { match: (c) => c.args['ts'] === r.ts && shownText(c.args['blocks']).includes(objectId), timeoutMs: 10_000 });
    expect(shownIn(r.ts)).toContain(`Stripe \`${objectId}\``);
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks)).toEqual([]);
    // In place: no second post of this request in the channel.
    const posts = t.slack.callsTo('chat.postMessage').filter((c) => c.args['channel'] === APPROVALS_CHANNEL && t.slack.calls.indexOf(c) >= from);
    expect(posts).toEqual([]);
    const dms = t.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args['channel'] === t.slack.dmChannelFor(REQUESTER) && String(c.args['text']).includes(`request #${r.id} `));
    expect(dms).toHaveLength(1);
    expect(String(dm.args['text'])).toContain(`was executed. Stripe ${objectId}.`);
    const refusals = t.slack.callsTo('chat.postEphemeral').filter((c) => t.slack.calls.indexOf(c) >= from);
    expect(refusals).toHaveLength(19);
    for (const c of refusals) expect(String(c.args['text'])).toMatch(new RegExp(`Request #${r.id} was already approved|You already approved request #${r.id}`));
  });
});

describe('when Stripe refuses, and when nobody decides', () => {
  it('shows the failure with a Retry button in the channel and in the DM; Retry executes it once', async () => {
    const r = await requestCredit('450', 'Credit for the failed upgrade');
    t.stripe.failNext({ method: 'POST', path: /balance_transactions$/, status: 402, error: { type: 'card_error', code: 'balance_insufficient', message: 'The account is locked for changes.' } });
    let from = t.slack.calls.length;
    await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Approve', APPROVER_1);
    const failed = await dmTo(REQUESTER, `Your request #${r.id}`, from);
    expect(String(failed.args['text'])).toContain('failed');
    expect(buttons(failed.args['blocks']).map((b) => b.text)).toEqual(['Retry']);
    await t.slack.waitForCall('chat.update', { match: (c) => c.args['ts'] === r.ts && shownText(c.args['blocks']).includes('The account is locked'), timeoutMs: 10_000 });
    expect(shownIn(r.ts)).toContain('but Stripe refused it after 1 attempt');
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks).map((b) => b.text)).toEqual(['Retry']);
    expect(stripeWritesFor(r.id)).toHaveLength(0);

    // Someone who may not retry it is told so; the message stays.
    from = t.slack.calls.length;
    await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Retry', OUTSIDER);
    await ephemeralTo(OUTSIDER, from);
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks).map((b) => b.text)).toEqual(['Retry']);

    from = t.slack.calls.length;
    await t.clickInChannel(APPROVALS_CHANNEL, r.ts, 'Retry', APPROVER_1);
    const executed = await dmTo(REQUESTER, `Your request #${r.id}`, from);
    expect(String(executed.args['text'])).toContain('was executed');
    await t.app.outbox.idle();
    const writes = stripeWritesFor(r.id);
    expect(writes).toHaveLength(1);
    await t.slack.waitForCall('chat.update', { match: (c) => c.args['ts'] === r.ts && shownText(c.args['blocks']).includes(writes[0]?.objectId ?? '?'), timeoutMs: 10_000 });
    expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks)).toEqual([]);
  });

  it('a request nobody decides expires: the approval_expiry job updates its message and DMs the requester', async () => {
    const r = await requestCredit('275', 'Credit nobody got to');
    t.clock.set(new Date(NOW.getTime() + 73 * 3_600_000));
    try {
      const from = t.slack.calls.length;
      const run = await runJobOnce(t.app.jobs, 'approval_expiry', t.clock.now(), 'manual');
      expect(run).toMatchObject({ status: 'succeeded', summary: { requests: expect.arrayContaining([r.id]) } });
      const dm = await dmTo(REQUESTER, `Your request #${r.id}`, from);
      expect(String(dm.args['text'])).toContain('expired');
      await t.slack.waitForCall('chat.update', { match: (c) => c.args['ts'] === r.ts && t.slack.calls.indexOf(c) >= from, timeoutMs: 10_000 });
      expect(shownIn(r.ts)).toContain('Expired 2026-11-04 09:00 without a decision.');
      expect(buttons(t.slack.message(APPROVALS_CHANNEL, r.ts)?.blocks)).toEqual([]);
    } finally {
      t.clock.set(NOW);
    }
  });
});

describe('the account card after credits', () => {
  it('shows the credit ledger’s running balance next to Stripe’s, and flags when they disagree', async () => {
    const ask = async () => {
      const cmd = await t.slash(`account ${GLOBEX}`);
      const card = await t.slack.waitForResponse({ id: cmd.responseId, timeoutMs: 10_000 });
      return shownText(card.body['blocks']);
    };
    // $6,000 + $400 + $450 were executed above; Stripe's customer.updated webhook brings billops' copy of the balance along.
    const webhook = async (balance: bigint) =>
      t.db.db.updateTable('stripe_customers').set({ balance, version_at: t.clock.now() }).where('id', '=', GLOBEX).execute();
    await webhook(-685_000n);
    const agreed = await ask();
    expect(agreed).toContain('*Credit balance*\n$6,850.00 credit _(comes off the next invoice)_\nLedger: $6,850.00\n');
    expect(agreed).not.toContain('disagree');
    // Someone changes the balance in Stripe's dashboard.
    await webhook(-500_000n);
    const flagged = await ask();
    expect(flagged).toContain('*Credit balance*\n$5,000.00 credit _(comes off the next invoice)_\nLedger: $6,850.00\n:warning: ledger and Stripe disagree (Stripe shows $5,000.00 credit)');
  });
});
