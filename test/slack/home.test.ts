import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { listExceptions, queueHeadline } from '../../src/exceptions/index.js';
import { HOME_MAX_ASSIGNED, VIEW, homeView } from '../../src/slack/blocks/index.js';
import { type TestApp, startTestApp } from '../support/app.js';
import { validateBlockKit } from '../support/block-kit-limits.js';
import { ManualClock } from '../support/clock.js';
import type { RecordedCall } from '../support/fake-slack.js';
import { SLACK_TEST_IDS, blockActionPayload, sendEvent, sendInteraction, stateValue, viewSubmissionPayload } from '../support/slack-requests.js';
import { type ShownButton, addException, addMany, button, buttons, clearQueue, shownText } from './exception-fixtures.js';

/**
 * The App Home tab: what a person sees when they open billops — the headline numbers, what is
 * assigned to them (with the same buttons as everywhere), the approvals waiting for them — and how
 * it follows what they do from it.
 */

const ALICE: string = SLACK_TEST_IDS.userId;
const BOB = 'U0BOB0001';
const NOW = new Date('2026-11-02T14:00:00Z');
const HOUR = 3_600_000;

let t: TestApp;
const clock = new ManualClock(NOW);

beforeAll(async () => {
  // resolving needs no approval here (test/slack/approvals-surfaces.test.ts covers the approval path)
  t = await startTestApp({ yaml: 'org:\n  timezone: Europe/Berlin\napprovals:\n  policies:\n    resolve_exception: [{ approvers: 0 }]\n', clock });
});
afterAll(async () => {
  await t.close();
});
beforeEach(async () => {
  t.slack.reset();
  clock.set(NOW);
  await clearQueue(t.db.db);
});
afterEach(() => {
  t.slack.assertNoViolations();
});

async function openHome(user = ALICE, tab = 'home'): Promise<void> {
  const res = await sendEvent(t.baseUrl, t.signingSecret, { type: 'app_home_opened', user, channel: 'D0HOME0001', tab });
  expect(res.status).toBe(200);
}

async function published(count = 1): Promise<{ call: RecordedCall; blocks: unknown[]; text: string }> {
  const call = await t.slack.waitForCall('views.publish', { count, timeoutMs: 5000 });
  const view = call.args['view'] as { type: string; blocks: unknown[] };
  expect(view.type).toBe('home');
  return { call, blocks: view.blocks, text: shownText(view.blocks) };
}

async function addRun(o: { status: 'succeeded' | 'failed' | 'running'; startedAt: Date; summary?: unknown; error?: string }): Promise<bigint> {
  const res = await sql<{ id: bigint }>`
    insert into reconciliation_runs (started_at, finished_at, status, rules_hash, triggered_by, summary, duration_ms, error)
    values (${o.startedAt}, ${o.status === 'running' ? null : new Date(o.startedAt.getTime() + 1200)}, ${o.status}, 'h', 'scheduler:reconcile',
      ${o.summary === undefined ? null : JSON.stringify(o.summary)}::jsonb, ${o.status === 'running' ? null : 1200}, ${o.error ?? null})
    returning id`.execute(t.db.db);
  const id = res.rows[0]?.id;
  if (id === undefined) throw new Error('run not inserted');
  return id;
}

async function seed() {
  const mine = await addException(t.db.db, {
    kind: 'missing_in_gl',
    severity: 'critical',
    amount: 750_000n,
    customerName: 'Globex',
    stripeId: 'ch_3QHomeGlobex0001',
    assignee: ALICE,
    openedAt: new Date(NOW.getTime() - 4 * 24 * HOUR),
  });
  const bobs = await addException(t.db.db, {
    kind: 'amount_mismatch',
    severity: 'medium',
    amount: 12_345n,
    currency: 'EUR',
    customerName: 'Wayne',
    assignee: BOB,
    openedAt: new Date(NOW.getTime() - 2 * HOUR),
  });
  const open = await addException(t.db.db, {
    kind: 'missing_in_billing',
    severity: 'high',
    amount: 250_000n,
    gl: { file: 'ledger.csv', line: 9 },
    openedAt: new Date(NOW.getTime() - 30 * HOUR),
  });
  // not counted: resolved, and snoozed into the future
  await addException(t.db.db, { kind: 'failed_payment', severity: 'low', amount: 99_999n, status: 'resolved', openedAt: new Date(NOW.getTime() - 9 * 24 * HOUR) });
  await addException(t.db.db, {
    kind: 'failed_payment',
    severity: 'low',
    amount: 5_000n,
    currency: 'JPY',
    status: 'snoozed',
    snoozedUntil: new Date(NOW.getTime() + 24 * HOUR),
    openedAt: new Date(NOW.getTime() - 10 * 24 * HOUR),
  });
  await addRun({ status: 'failed', startedAt: new Date(NOW.getTime() - 30 * HOUR), error: 'GL import still running' });
  await addRun({
    status: 'succeeded',
    startedAt: new Date(NOW.getTime() - 8 * HOUR),
    summary: { billing: { matched: { count: 1200 }, billingOnly: { count: 2 } }, gl: { glOnly: { count: 1 } }, exceptions: { opened: 3, autoResolved: 1 } },
  });
  return { mine, bobs, open };
}

function homeClick(b: ShownButton, user = ALICE) {
  return sendInteraction(
    t.baseUrl,
    t.signingSecret,
    blockActionPayload({ actionId: b.actionId, blockId: b.blockId, value: b.value, user: { id: user }, view: { type: 'home', id: 'VHOME00001' } }),
  );
}

describe('App Home tab', () => {
  it('shows the headline numbers, what is assigned to the person with buttons, and that no approvals are waiting', async () => {
    const ids = await seed();
    await openHome();
    const { call, blocks, text } = await published();
    expect(call.args['user_id']).toBe(ALICE);
    expect(text).toContain('*Open exceptions*\n3');
    expect(text).toContain('*Unmatched amount*\n€123.45 (1)\n$10,000.00 (2)');
    expect(text).toContain('*Oldest open item*\n4d (since 2026-10-29)');
    expect(text).toContain('*Last reconcile*\n:white_check_mark: Succeeded 2026-11-02 07:00 (8h ago)\n1,200 matched · 2 billing-only · 1 GL-only');
    expect(text).toContain('Assigned to you (1)');
    expect(text).toContain(`*#${ids.mine} · Missing in GL* — *$7,500.00*`);
    expect(text).not.toContain(`#${ids.bobs} ·`);
    expect(buttons(blocks).map((b) => [b.text, b.value])).toEqual([
      ['Assign to me', ids.mine.toString()],
      ['Resolve', ids.mine.toString()],
      ['Snooze', ids.mine.toString()],
      ['Details', ids.mine.toString()],
    ]);
    expect(text).toContain('Approvals waiting for you\nNo approvals waiting.');
    expect(text).toContain('Updated 2026-11-02 15:00 (Europe/Berlin)');
  });

  it('says what there is when there is nothing yet', async () => {
    await openHome(BOB);
    const { text, blocks } = await published();
    expect(text).toContain('*Open exceptions*\n0');
    expect(text).toContain('*Unmatched amount*\n—');
    expect(text).toContain('*Oldest open item*\n—');
    expect(text).toContain('*Last reconcile*\nNever run yet');
    expect(text).toContain('Nothing is assigned to you. `/billing exceptions` lists what is open.');
    expect(buttons(blocks)).toEqual([]);
  });

  it('shows a failed last run with its error', async () => {
    const run = await addRun({ status: 'failed', startedAt: new Date(NOW.getTime() - 2 * HOUR), error: 'could not reach Stripe <timeout>' });
    await openHome();
    const { text } = await published();
    expect(text).toContain('*Last reconcile*\n:x: Failed 2026-11-02 13:00 (2h ago)');
    expect(text).toContain(`Run #${run} failed: could not reach Stripe &lt;timeout&gt;`);
  });

  it('caps a long assignment list within the 100-block limit and says how many more', async () => {
    await addMany(t.db.db, 60, NOW, { assignee: ALICE });
    await openHome();
    const { blocks, text } = await published();
    expect(blocks.length).toBeLessThanOrEqual(100);
    expect(buttons(blocks).filter((b) => b.text === 'Resolve')).toHaveLength(HOME_MAX_ASSIGNED);
    expect(text).toContain('Assigned to you (60)');
    expect(text).toContain(`…and ${60 - HOME_MAX_ASSIGNED} more: \`/billing exceptions mine\` pages through them all.`);
  });

  it('publishes nothing when the Messages tab is opened', async () => {
    await openHome(ALICE, 'messages');
    await openHome(BOB, 'home');
    await published();
    expect(t.slack.callsTo('views.publish').map((c) => c.args['user_id'])).toEqual([BOB]);
  });

  it('renders approvals handed to it (the approvals capability plugs in here)', async () => {
    const headline = await queueHeadline(t.db.db, clock);
    const assigned = await listExceptions(t.db.db, { status: 'mine', me: ALICE, clock });
    const view = homeView({
      userId: ALICE,
      headline,
      assigned,
      approvals: [{ id: 'apr_1', title: 'Credit $250.00 to Globex (goodwill)', requestedBy: BOB, requestedAt: new Date(NOW.getTime() - 3 * HOUR) }],
      clock: { now: NOW, timeZone: 'UTC' },
      command: '/billing',
    });
    expect(validateBlockKit('home', view)).toEqual([]);
    const text = shownText(view.blocks);
    expect(text).toContain('Approvals waiting for you\n*Credit $250.00 to Globex (goodwill)*\nRequested by <@U0BOB0001> 3h ago');
    expect(text).not.toContain('No approvals waiting.');
  });
});

describe('acting from the Home tab', () => {
  it('Assign to me assigns and republishes the tab with what happened', async () => {
    const ids = await seed();
    await openHome(BOB);
    const bobHome = await published();
    const res = await homeClick(button(bobHome.blocks, 'Assign to me', ids.bobs.toString()), ALICE);
    expect(res.status).toBe(200);
    const { call, text } = await published(2);
    expect(call.args['user_id']).toBe(ALICE);
    expect(text).toContain(`:white_check_mark: #${ids.bobs} is now assigned to <@${ALICE}>.`);
    expect(text).toContain('Assigned to you (2)');
    const [entry] = await listAudit(t.db.db, { entity: { type: 'exception', id: ids.bobs.toString() } });
    expect(entry).toMatchObject({ action: 'exception.assigned', actor: { id: ALICE }, context: { surface: 'home' } });
  });

  it('Resolve from the Home tab opens the modal and, once submitted, republishes the tab', async () => {
    const ids = await seed();
    await openHome();
    const home = await published();
    await homeClick(button(home.blocks, 'Resolve', ids.mine.toString()));
    const open = await t.slack.waitForCall('views.open', { timeoutMs: 5000 });
    const view = open.args['view'] as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(VIEW.exceptionResolve);
    expect(JSON.parse(view.private_metadata)).toEqual({ id: ids.mine.toString(), origin: { kind: 'home' } });
    const submit = await sendInteraction(
      t.baseUrl,
      t.signingSecret,
      viewSubmissionPayload({
        callbackId: view.callback_id,
        privateMetadata: view.private_metadata,
        user: { id: ALICE },
        values: { resolution_code: { code: stateValue.staticSelect('timing_difference') }, resolution_note: { note: stateValue.plainText('Booked on 3 Nov') } },
      }),
    );
    expect(submit.text).toBe('');
    const { text, blocks } = await published(2);
    expect(text).toContain(`:white_check_mark: #${ids.mine} is resolved by <@${ALICE}> (Timing difference).`);
    expect(text).toContain('Assigned to you (0)');
    expect(buttons(blocks)).toEqual([]);
    expect(text).toContain('*Open exceptions*\n2');
  });

  it('Details from the Home tab opens a modal with the details and history', async () => {
    const ids = await seed();
    await openHome();
    const home = await published();
    await homeClick(button(home.blocks, 'Details', ids.mine.toString()));
    const open = await t.slack.waitForCall('views.open', { timeoutMs: 5000 });
    const view = open.args['view'] as { type: string; title: { text: string }; blocks: unknown[] };
    expect(view.type).toBe('modal');
    expect(view.title.text).toBe(`Exception #${ids.mine}`);
    const text = shownText(view.blocks);
    expect(text).toContain('*Billing record*\n`charge:ch_3QHomeGlobex0001`');
    expect(text).toContain('*History*\n_nothing recorded_');
    expect(buttons(view.blocks)).toEqual([]);
  });

  it('when the tab cannot be republished after an action (ok:false), the person gets a DM saying what happened', async () => {
    const ids = await seed();
    await openHome();
    const home = await published();
    t.slack.failNext('views.publish', { error: 'not_enabled', times: 2 });
    await homeClick(button(home.blocks, 'Snooze', ids.mine.toString()));
    const open = await t.slack.waitForCall('views.open', { timeoutMs: 5000 });
    const view = open.args['view'] as { callback_id: string; private_metadata: string };
    const submit = await sendInteraction(
      t.baseUrl,
      t.signingSecret,
      viewSubmissionPayload({
        callbackId: view.callback_id,
        privateMetadata: view.private_metadata,
        user: { id: ALICE },
        values: { snooze_until: { until: stateValue.datepicker('2026-11-10') } },
      }),
    );
    expect(submit.text).toBe('');
    const dm = await t.slack.waitForCall('chat.postMessage', { timeoutMs: 5000 });
    expect(dm.args['channel']).toBe(ALICE);
    expect(String(dm.args['text'])).toMatch(new RegExp(`^#${ids.mine} is snoozed\\. Then something went wrong on our side \\(error id E-[0-9a-f]{8}\\)`));
    // the start of 10 November in Berlin
    const row = (await sql<{ status: string; snoozed_until: Date }>`select status, snoozed_until from exceptions where id = ${ids.mine}`.execute(t.db.db)).rows[0];
    expect(row).toEqual({ status: 'snoozed', snoozed_until: new Date('2026-11-09T23:00:00Z') });
  });
});
