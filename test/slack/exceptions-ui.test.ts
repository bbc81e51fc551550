import { WebClient } from '@slack/web-api';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { MAX_NOTE_LENGTH, RESOLUTION_CODES } from '../../src/exceptions/index.js';
import { ACTION, EXCEPTION_LIST_PAGE_SIZE, VIEW, exceptionActionButtons } from '../../src/slack/blocks/index.js';
import { type TestApp, startTestApp } from '../support/app.js';
import { ManualClock } from '../support/clock.js';
import type { RecordedCall, RecordedResponse } from '../support/fake-slack.js';
import {
  SLACK_TEST_IDS,
  type StateValues,
  blockActionPayload,
  sendInteraction,
  sendSlashCommand,
  stateValue,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { type ShownButton, addException, addMany, button, buttons, clearQueue, shownText } from './exception-fixtures.js';

/**
 * The exception queue as a finance analyst works it in Slack: `/billing exceptions`, the buttons on
 * each item, the Resolve and Snooze modals, the message brought up to date in place, and what they
 * are told when something is wrong — all through signed requests, asserting what the person sees,
 * the rows and the audit log.
 */

const ALICE: string = SLACK_TEST_IDS.userId; // U0ALICE01
const BOB: string = 'U0BOB0001';
const CHANNEL = SLACK_TEST_IDS.channelId;
const NOW = new Date('2026-11-02T14:00:00Z'); // 09:00 in New York (EST since Nov 1)
const HOUR = 3_600_000;

// Resolving needs no approval here, whatever the amount: these tests are about the queue's own
// mechanics (test/slack/approvals-surfaces.test.ts covers a high-value resolve asking for approval).
const YAML = `
org:
  timezone: America/New_York
approvals:
  policies:
    resolve_exception: [{ approvers: 0 }]
`;

let t: TestApp;
const clock = new ManualClock(NOW);
let seq = 0;

beforeAll(async () => {
  t = await startTestApp({ yaml: YAML, clock });
  t.slack.users.set(ALICE, { name: 'alice', display_name: 'alice' });
  t.slack.users.set(BOB, { name: 'bob', display_name: 'bob' });
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

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** Globex critical (Stripe), Initech high (GL only), Wayne medium (EUR), Tokyo low (JPY). */
async function seedQueue(): Promise<{ globex: bigint; initech: bigint; wayne: bigint; tokyo: bigint }> {
  const globex = await addException(t.db.db, {
    kind: 'missing_in_gl',
    severity: 'critical',
    amount: 750_000n,
    customerId: 'cus_Globex0001',
    customerName: 'Globex & Co',
    stripeId: 'ch_3QGlobex000000001',
    openedAt: new Date(NOW.getTime() - 3 * 24 * HOUR),
    summary: 'Charge ch_3QGlobex000000001 is in Stripe but not in the GL',
  });
  const initech = await addException(t.db.db, {
    kind: 'missing_in_billing',
    severity: 'high',
    amount: -150_000n,
    customerName: 'Initech',
    reference: 'WIRE-7781',
    gl: { file: 'ledger-2026-10.csv', line: 12 },
    openedAt: new Date(NOW.getTime() - 26 * HOUR),
  });
  const wayne = await addException(t.db.db, {
    kind: 'amount_mismatch',
    severity: 'medium',
    amount: 30_000n,
    currency: 'EUR',
    customerName: 'Wayne',
    stripeId: 'in_3QWayne00000001',
    gl: { file: 'ledger-2026-10.csv', line: 40 },
    openedAt: new Date(NOW.getTime() - 5 * HOUR),
  });
  const tokyo = await addException(t.db.db, {
    kind: 'failed_payment',
    severity: 'low',
    amount: 5_000n,
    currency: 'JPY',
    customerName: 'Tokyo Kogyo',
    stripeId: 'ch_3QTokyo00000001',
    assignee: BOB,
    openedAt: new Date(NOW.getTime() - 45 * 60_000),
  });
  return { globex, initech, wayne, tokyo };
}

/** `/billing <text>` as `user`; the ephemeral answer Slack would show. */
async function slash(text: string, user = ALICE): Promise<{ id: string; body: Record<string, unknown> }> {
  const id = `cmd-${++seq}`;
  const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text, user_id: user, response_url: t.slack.responseUrl(id) });
  expect(res.status).toBe(200);
  const r = await t.slack.waitForResponse({ id, timeoutMs: 5000 });
  return { id, body: r.body };
}

interface ClickOptions {
  user?: string;
  /** An ephemeral message (the slash command's answer): answered through this response_url id. */
  ephemeral?: boolean;
  message?: { ts: string; blocks?: unknown[]; text?: string };
  channelId?: string;
}

/** Click a button; returns the response_url id the click carried. */
async function click(b: ShownButton, o: ClickOptions = {}): Promise<string> {
  const id = `click-${++seq}`;
  const payload = blockActionPayload({
    actionId: b.actionId,
    blockId: b.blockId,
    value: b.value,
    user: { id: o.user ?? ALICE, username: o.user === BOB ? 'bob' : 'alice' },
    responseUrl: t.slack.responseUrl(id),
    ephemeral: o.ephemeral ?? o.message === undefined,
    ...(o.channelId ? { channelId: o.channelId } : {}),
    ...(o.message ? { message: o.message } : {}),
  });
  const res = await sendInteraction(t.baseUrl, t.signingSecret, payload);
  expect(res.status).toBe(200);
  return id;
}

function response(id: string): Promise<RecordedResponse> {
  return t.slack.waitForResponse({ id, timeoutMs: 5000 });
}

/** The modal the last click opened. */
async function openedModal(count = 1): Promise<{ callbackId: string; metadata: string; view: Record<string, unknown> }> {
  const call = await t.slack.waitForCall('views.open', { count, match: (c) => c.status === 200 && c.response['ok'] === true, timeoutMs: 5000 });
  const view = call.args['view'] as Record<string, unknown>;
  return { callbackId: String(view['callback_id']), metadata: String(view['private_metadata']), view };
}

async function submit(callbackId: string, metadata: string, values: StateValues, user = ALICE) {
  const payload = viewSubmissionPayload({ callbackId, privateMetadata: metadata, values, user: { id: user, username: user === BOB ? 'bob' : 'alice' } });
  return sendInteraction(t.baseUrl, t.signingSecret, payload);
}

const resolveValues = (code: string | null, note: string | null): StateValues => ({
  resolution_code: code === null ? {} : { code: stateValue.staticSelect(code) },
  resolution_note: { note: stateValue.plainText(note) },
});
const snoozeValues = (date: string | null): StateValues => ({ snooze_until: { until: stateValue.datepicker(date) } });

async function row(id: bigint) {
  return (
    await sql<{ status: string; assignee: string | null; resolved_by: string | null; resolution_code: string | null; snoozed_until: Date | null; version: number }>`
      select status, assignee, resolved_by, resolution_code, snoozed_until, version from exceptions where id = ${id}`.execute(t.db.db)
  ).rows[0];
}

const audit = (id: bigint) => listAudit(t.db.db, { entity: { type: 'exception', id: id.toString() } });

function blocksOf(r: { body: Record<string, unknown> } | RecordedCall): unknown[] {
  const src = 'body' in r ? r.body : r.args;
  return (src['blocks'] ?? []) as unknown[];
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

describe('/billing exceptions', () => {
  it('lists what is open, critical first, each with its amount, customer, references, status, severity, age and buttons', async () => {
    const ids = await seedQueue();
    const { body } = await slash('exceptions');
    expect(body['response_type']).toBe('ephemeral');
    const shown = shownText(body['blocks']);
    expect(shown).toContain('*Open exceptions*: 4 exceptions');
    const order = [ids.globex, ids.initech, ids.wayne, ids.tokyo].map((id) => shown.indexOf(`*#${id} ·`));
    expect(order.every((p, i) => p >= 0 && (i === 0 || p > (order[i - 1] ?? 0)))).toBe(true);
    expect(shown).toContain(`*#${ids.globex} · Missing in GL* — *$7,500.00*`);
    expect(shown).toContain('Globex &amp; Co (`cus_Globex0001`) · Stripe `ch_3QGlobex000000001`');
    expect(shown).toContain(':red_circle: critical · Open · opened 3d ago');
    expect(shown).toContain(`*#${ids.initech} · Missing in billing* — *-$1,500.00*`);
    expect(shown).toContain('Initech · ref `WIRE-7781` · GL `ledger-2026-10.csv:12`');
    expect(shown).toContain(':large_orange_circle: high · Open · opened 26h ago');
    expect(shown).toContain(`*#${ids.wayne} · Amount mismatch* — *€300.00*`);
    expect(shown).toContain(`*#${ids.tokyo} · Failed payment* — *¥5,000*`);
    expect(shown).toContain(`:white_circle: low · Assigned to <@${BOB}> · opened 45m ago`);

    const all = buttons(body['blocks']);
    expect(all.filter((b) => b.value === ids.globex.toString()).map((b) => b.text)).toEqual(['Assign to me', 'Resolve', 'Snooze', 'Details']);
    expect(all.filter((b) => b.value === ids.globex.toString()).map((b) => b.actionId)).toEqual(
      exceptionActionButtons(ids.globex, { unique: true }).map((x) => x.action_id),
    );
    expect(new Set(all.map((b) => b.actionId)).size).toBe(all.length);
    // one page: no pager
    expect(all.some((b) => b.actionId.startsWith(ACTION.exceptionPage))).toBe(false);
  });

  it('filters by mine and by kind (written either way), and says when there is nothing', async () => {
    const ids = await seedQueue();
    const mine = await slash('exceptions mine', BOB);
    expect(shownText(mine.body['blocks'])).toContain('*Your open exceptions*: 1 exception');
    expect(buttons(mine.body['blocks']).map((b) => b.value)).toEqual(Array(4).fill(ids.tokyo.toString()));

    const kind = await slash('exceptions Missing-In-GL');
    expect(shownText(kind.body['blocks'])).toContain('*Open exceptions: Missing in GL*: 1 exception');
    expect(shownText(kind.body['blocks'])).toContain(`#${ids.globex} ·`);
    expect(shownText(kind.body['blocks'])).not.toContain(`#${ids.initech} ·`);

    const none = await slash('exceptions dispute_open');
    expect(shownText(none.body['blocks'])).toContain('*Open exceptions: Open dispute*: none. :tada:');
    expect(buttons(none.body['blocks'])).toEqual([]);
  });

  it('pages within Block Kit limits, with pager buttons that replace the list in place', async () => {
    await addMany(t.db.db, 2 * EXCEPTION_LIST_PAGE_SIZE + 3, NOW);
    const first = await slash('exceptions');
    const blocks1 = blocksOf(first);
    expect(blocks1.length).toBeLessThanOrEqual(50);
    expect(shownText(blocks1)).toContain(`*Open exceptions*: ${2 * EXCEPTION_LIST_PAGE_SIZE + 3} exceptions · page 1 of 3`);
    expect(buttons(blocks1).filter((b) => b.text === 'Resolve')).toHaveLength(EXCEPTION_LIST_PAGE_SIZE);
    const next = button(blocks1, 'Page 2 ▶');
    expect(JSON.parse(next.value)).toEqual({ filter: 'open', page: 2 });
    expect(buttons(blocks1).some((b) => b.text.startsWith('◀'))).toBe(false);

    const id = await click(next, { ephemeral: true });
    const second = await response(id);
    expect(second.body['replace_original']).toBe(true);
    expect(shownText(blocksOf(second))).toContain('page 2 of 3');
    expect(buttons(blocksOf(second)).map((b) => b.text)).toEqual(expect.arrayContaining(['◀ Page 1', 'Page 3 ▶']));

    const third = await slash('exceptions open 3');
    expect(shownText(blocksOf(third))).toContain('page 3 of 3');
    expect(buttons(blocksOf(third)).filter((b) => b.text === 'Resolve')).toHaveLength(3);
    expect(buttons(blocksOf(third)).map((b) => b.text)).toContain('◀ Page 2');
    expect(buttons(blocksOf(third)).map((b) => b.text)).not.toContain('Page 4 ▶');

    // a page number alone means the open list
    expect(shownText(blocksOf(await slash('exceptions 2')))).toContain('page 2 of 3');
  });

  it('keeps the largest possible page under 50 blocks, however long the names are', async () => {
    await addMany(t.db.db, 40, NOW);
    await sql`update exceptions set customer_name = repeat('Very Long Customer Name & Sons ', 20), summary = repeat('<b>why</b> ', 200)`.execute(t.db.db);
    const { body } = await slash('exceptions');
    expect(blocksOf({ body }).length).toBeLessThanOrEqual(50);
    expect(t.slack.violations).toEqual([]);
  });

  it.each([
    ['exceptions bogus', '"bogus" is not a list. Use open, mine, or one of the kinds: missing_in_gl, missing_in_billing, amount_mismatch'],
    ['exceptions open 0', 'There is no page 0: pages start at 1.'],
    ['exceptions 0', 'There is no page 0: pages start at 1.'],
    ['exceptions open x', '"x" is not a page number: pages are 1, 2, 3 …'],
    ['exceptions mine -1', '"-1" is not a page number'],
    ['exceptions open 9', 'There is no page 9: the last page of open exceptions is 1.'],
    ['exceptions mine 2', 'There is no page 2: there are no open exceptions assigned to you, so there is only page 1.'],
    ['exceptions open 2 extra', 'Too many words: "extra".'],
    ['exceptions missing_in_gl 3', 'There is no page 3: the last page of open "Missing in GL" exceptions is 1.'],
  ])('answers `/billing %s` with what is wrong and the usage', async (text, message) => {
    await seedQueue();
    await sql`update exceptions set assignee = null, status = 'open'`.execute(t.db.db);
    const before = (await sql`select * from exceptions order by id`.execute(t.db.db)).rows;
    const { body } = await slash(text);
    const shown = shownText(body['blocks']);
    expect(shown).toContain(message);
    expect(shown).toContain('Usage: `/billing exceptions [open|mine|<kind>] [page]`');
    expect(buttons(body['blocks'])).toEqual([]);
    expect((await sql`select * from exceptions order by id`.execute(t.db.db)).rows).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Buttons on the list
// ---------------------------------------------------------------------------------------------

describe('buttons on the list', () => {
  it('Assign to me assigns, records who and where, and replaces the list in place', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    const id = await click(button(blocksOf(list), 'Assign to me', ids.globex.toString()), { ephemeral: true });
    const updated = await response(id);
    expect(updated.body['replace_original']).toBe(true);
    expect(updated.body['response_type']).toBe('ephemeral');
    const shown = shownText(blocksOf(updated));
    expect(shown).toContain(`:white_check_mark: #${ids.globex} is now assigned to <@${ALICE}>.`);
    expect(shown).toContain(`:red_circle: critical · Assigned to <@${ALICE}> · opened 3d ago`);

    expect(await row(ids.globex)).toMatchObject({ status: 'assigned', assignee: ALICE, version: 2 });
    const entries = await audit(ids.globex);
    expect(entries.map((e) => e.action)).toEqual(['exception.assigned']);
    expect(entries[0]).toMatchObject({
      actor: { kind: 'slack_user', id: ALICE },
      source: 'slack',
      after: { status: 'assigned', assignee: ALICE },
      context: { surface: 'ephemeral', channel: CHANNEL, kind: 'missing_in_gl' },
    });
    // and the Home tab follows
    const home = await t.slack.waitForCall('views.publish', { timeoutMs: 5000 });
    expect(home.args['user_id']).toBe(ALICE);
    expect(shownText((home.args['view'] as { blocks: unknown[] }).blocks)).toContain(`*#${ids.globex} · Missing in GL*`);
  });

  it('Assign to me on something already yours says so and changes nothing', async () => {
    const ids = await seedQueue();
    const mine = await slash('exceptions mine', BOB);
    const id = await click(button(blocksOf(mine), 'Assign to me', ids.tokyo.toString()), { ephemeral: true, user: BOB });
    const answer = await response(id);
    expect(answer.body['replace_original']).toBe(false);
    expect(shownText(blocksOf(answer))).toContain(`:warning: Exception #${ids.tokyo} is already assigned to <@${BOB}>.`);
    expect(await row(ids.tokyo)).toMatchObject({ status: 'assigned', assignee: BOB, version: 1 });
    expect(await audit(ids.tokyo)).toEqual([]);
  });

  it('Resolve opens a modal; missing code, missing or long notes come back as field errors; then it resolves and the list updates', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    const listUrl = await click(button(blocksOf(list), 'Resolve', ids.initech.toString()), { ephemeral: true });
    const modal = await openedModal();
    expect(modal.callbackId).toBe(VIEW.exceptionResolve);
    expect(modal.view['title']).toEqual({ type: 'plain_text', text: `Resolve #${ids.initech}` });
    const select = ((modal.view['blocks'] as Array<{ block_id?: string; element?: { options?: Array<{ value: string }> } }>).find(
      (b) => b.block_id === 'resolution_code',
    )?.element?.options ?? []).map((o) => o.value);
    expect(select).toEqual([...RESOLUTION_CODES]);
    expect(JSON.parse(modal.metadata)).toEqual({
      id: ids.initech.toString(),
      origin: { kind: 'ephemeral', channel: CHANNEL, responseUrl: t.slack.responseUrl(listUrl), blockId: expect.stringMatching(/^exl:open:1:\d+$/) },
    });

    const noCode = await submit(modal.callbackId, modal.metadata, resolveValues(null, 'Posted by hand'));
    expect(noCode.json()).toEqual({ response_action: 'errors', errors: { resolution_code: 'Pick how it was resolved.' } });
    const noNote = await submit(modal.callbackId, modal.metadata, resolveValues('posted_in_gl', '   '));
    expect(noNote.json()).toEqual({ response_action: 'errors', errors: { resolution_note: 'Say how it was resolved in a note.' } });
    const long = await submit(modal.callbackId, modal.metadata, resolveValues('posted_in_gl', 'x'.repeat(MAX_NOTE_LENGTH + 1)));
    expect(long.json()).toEqual({
      response_action: 'errors',
      errors: { resolution_note: `The note is ${MAX_NOTE_LENGTH + 1} characters; keep it to ${MAX_NOTE_LENGTH}.` },
    });
    expect(await row(ids.initech)).toMatchObject({ status: 'open', version: 1 });
    expect(await audit(ids.initech)).toEqual([]);

    const ok = await submit(modal.callbackId, modal.metadata, resolveValues('posted_in_gl', 'Wire booked to suspense; reclassed in JE-1182'));
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    const updated = await response(listUrl);
    expect(updated.body['replace_original']).toBe(true);
    const shown = shownText(blocksOf(updated));
    expect(shown).toContain(`:white_check_mark: #${ids.initech} is resolved by <@${ALICE}> (Posted in the GL).`);
    expect(shown).toContain('*Open exceptions*: 3 exceptions');
    expect(shown).not.toContain(`*#${ids.initech} ·`);
    expect(await row(ids.initech)).toMatchObject({ status: 'resolved', resolved_by: ALICE, resolution_code: 'posted_in_gl' });
    const entries = await audit(ids.initech);
    expect(entries.map((e) => e.action)).toEqual(['exception.resolved']);
    expect(entries[0]?.after).toMatchObject({ resolution_code: 'posted_in_gl', resolution_note: 'Wire booked to suspense; reclassed in JE-1182' });
  });

  it('Snooze opens a date picker; days that are not after today (New York) or too far ahead are field errors; then it snoozes', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    const listUrl = await click(button(blocksOf(list), 'Snooze', ids.wayne.toString()), { ephemeral: true });
    const modal = await openedModal();
    expect(modal.callbackId).toBe(VIEW.exceptionSnooze);
    const picker = (modal.view['blocks'] as Array<{ block_id?: string; element?: { type?: string; initial_date?: string } }>).find((b) => b.block_id === 'snooze_until');
    expect(picker?.element).toMatchObject({ type: 'datepicker', initial_date: '2026-11-09' });

    const cases: Array<[string | null, string]> = [
      [null, 'Pick the day the exception should come back.'],
      ['2026-11-01', 'Pick a day after today (2026-11-02, America/New_York).'],
      ['2026-11-02', 'Pick a day after today (2026-11-02, America/New_York).'],
      ['2027-02-01', 'An exception can be snoozed for at most 90 days: pick 2027-01-31 or earlier.'],
      ['2026-02-30', '"2026-02-30" is not a date (YYYY-MM-DD).'],
    ];
    for (const [date, message] of cases) {
      const res = await submit(modal.callbackId, modal.metadata, snoozeValues(date));
      expect(res.json()).toEqual({ response_action: 'errors', errors: { snooze_until: message } });
    }
    expect(await row(ids.wayne)).toMatchObject({ status: 'open', snoozed_until: null });

    const ok = await submit(modal.callbackId, modal.metadata, snoozeValues('2026-11-05'));
    expect(ok.text).toBe('');
    // the start of 5 November in New York
    expect(await row(ids.wayne)).toMatchObject({ status: 'snoozed', snoozed_until: new Date('2026-11-05T05:00:00Z') });
    const updated = await response(listUrl);
    expect(shownText(blocksOf(updated))).toContain(`:white_check_mark: #${ids.wayne} is snoozed until 2026-11-05.`);
    expect(shownText(blocksOf(updated))).not.toContain(`*#${ids.wayne} ·`);
    expect((await audit(ids.wayne)).map((e) => [e.action, (e.after as Record<string, unknown>)['snoozed_until']])).toEqual([
      ['exception.snoozed', '2026-11-05T05:00:00.000Z'],
    ]);

    // the last allowed day is accepted
    const again = await slash('exceptions');
    await click(button(blocksOf(again), 'Snooze', ids.globex.toString()), { ephemeral: true });
    const m2 = await openedModal(2);
    expect((await submit(m2.callbackId, m2.metadata, snoozeValues('2027-01-31'))).text).toBe('');
    expect(await row(ids.globex)).toMatchObject({ status: 'snoozed', snoozed_until: new Date('2027-01-31T05:00:00Z') });
  });

  it('Details shows ids, where it came from (GL file:line) and its history from the audit log', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    await click(button(blocksOf(list), 'Assign to me', ids.wayne.toString()), { ephemeral: true });
    await t.slack.waitForResponse({ match: (r) => r.body['replace_original'] === true && shownText(r.body['blocks']).includes('is now assigned'), timeoutMs: 5000 });
    clock.set(new Date(NOW.getTime() + HOUR));
    const detailsUrl = await click(button(blocksOf(list), 'Details', ids.wayne.toString()), { ephemeral: true });
    const details = await response(detailsUrl);
    expect(details.body['replace_original']).toBe(false);
    expect(details.body['response_type']).toBe('ephemeral');
    const shown = shownText(blocksOf(details));
    expect(shown).toContain(`*Exception #${ids.wayne} · Amount mismatch*`);
    expect(shown).toContain('*Amount*\n€300.00');
    expect(shown).toContain(`*Status*\nAssigned to <@${ALICE}>`);
    expect(shown).toContain('*Billing record*\n`charge:in_3QWayne00000001`\nStripe `in_3QWayne00000001`');
    expect(shown).toContain('*GL entry*\n`ledger-2026-10.csv:40`');
    expect(shown).toContain(`• 2026-11-02 09:00 · assigned to <@${ALICE}> · by <@${ALICE}>`);
    expect(shown).toMatch(new RegExp(`exception id ${ids.wayne} · version 2 · updated 2026-11-02 09:00 · billing record id \\d+ · GL entry id \\d+ · times in America/New_York`));
    expect(buttons(blocksOf(details)).map((b) => b.text)).toEqual(['Assign to me', 'Resolve', 'Snooze']);
  });

  it('a stale Resolve on something already resolved says who did it and opens nothing', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    await sql`update exceptions set status = 'resolved', resolved_by = ${BOB}, resolution_code = 'not_an_issue', resolved_at = ${NOW} where id = ${ids.globex}`.execute(
      t.db.db,
    );
    const id = await click(button(blocksOf(list), 'Resolve', ids.globex.toString()), { ephemeral: true });
    const answer = await response(id);
    expect(shownText(blocksOf(answer))).toContain(`:warning: Exception #${ids.globex}: Resolved by <@${BOB}> (Not an issue) — there is nothing left to resolve.`);
    expect(t.slack.callsTo('views.open')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Messages in a channel or DM
// ---------------------------------------------------------------------------------------------

describe('buttons on messages in a channel or DM', () => {
  const bot = () => new WebClient(t.slack.token, { slackApiUrl: t.slack.apiUrl });

  it('a list posted in a channel is updated with chat.update', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    const posted = await bot().chat.postMessage({ channel: CHANNEL, text: 'queue', blocks: blocksOf(list) as never });
    const ts = String(posted.ts);
    t.slack.reset();
    await click(button(blocksOf(list), 'Assign to me', ids.initech.toString()), { message: { ts, blocks: blocksOf(list), text: 'queue' } });
    const update = await t.slack.waitForCall('chat.update', { timeoutMs: 5000 });
    expect(update.args).toMatchObject({ channel: CHANNEL, ts });
    expect(shownText(t.slack.message(CHANNEL, ts)?.blocks)).toContain(`:large_orange_circle: high · Assigned to <@${ALICE}> · opened 26h ago`);
    expect(t.slack.responses).toEqual([]);
  });

  it('an alert-style message keeps its own text; only the exception line and buttons change, for buttons and for modals', async () => {
    const ids = await seedQueue();
    const alert = [
      { type: 'section', text: { type: 'mrkdwn', text: `High-value straggler: #${ids.globex}` } },
      { type: 'actions', block_id: `alert:${ids.globex}`, elements: exceptionActionButtons(ids.globex) },
    ];
    const dm = t.slack.dmChannelFor(ALICE);
    const posted = await bot().chat.postMessage({ channel: dm, text: 'straggler', blocks: alert as never });
    const ts = String(posted.ts);
    const assignButton = button(alert, 'Assign to me');
    await click(assignButton, { message: { ts, blocks: alert, text: 'straggler' }, channelId: dm });
    await t.slack.waitForCall('chat.update', { timeoutMs: 5000 });
    const after = t.slack.message(dm, ts);
    expect(shownText(after?.blocks)).toBe(`High-value straggler: #${ids.globex}\n*#${ids.globex}*: Assigned to <@${ALICE}>\nAssign to me\nResolve\nSnooze\nDetails`);
    expect(buttons(after?.blocks).map((b) => b.text)).toEqual(['Assign to me', 'Resolve', 'Snooze', 'Details']);

    // Resolve through the modal: the message is read back (conversations.history) and updated again
    await click(button(after?.blocks, 'Resolve'), { message: { ts, blocks: after?.blocks as unknown[], text: 'straggler' }, channelId: dm });
    const modal = await openedModal();
    expect(JSON.parse(modal.metadata).origin).toEqual({ kind: 'message', channel: dm, ts, blockId: `alert:${ids.globex}` });
    expect((await submit(modal.callbackId, modal.metadata, resolveValues('corrected_in_gl', 'JE-2201 posts it'))).text).toBe('');
    await t.slack.waitForCall('chat.update', { count: 2, timeoutMs: 5000 });
    const resolved = t.slack.message(dm, ts);
    expect(shownText(resolved?.blocks)).toBe(`High-value straggler: #${ids.globex}\n*#${ids.globex}*: Resolved by <@${ALICE}> (Corrected in the GL)`);
    expect(buttons(resolved?.blocks)).toEqual([]);
    expect(resolved?.text).toBe('straggler');
  });

  it('a chat.update that Slack refuses (ok:false) is told to the person, who also learns the assignment stood', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    const posted = await bot().chat.postMessage({ channel: CHANNEL, text: 'queue', blocks: blocksOf(list) as never });
    t.slack.failNext('chat.update', { error: 'cant_update_message' });
    await click(button(blocksOf(list), 'Assign to me', ids.globex.toString()), { message: { ts: String(posted.ts), blocks: blocksOf(list) } });
    const told = await t.slack.waitForCall('chat.postEphemeral', { timeoutMs: 5000 });
    expect(told.args).toMatchObject({ channel: CHANNEL, user: ALICE });
    expect(String(told.args['text'])).toMatch(
      new RegExp(`^#${ids.globex} is assigned to you\\. Then something went wrong on our side \\(error id E-[0-9a-f]{8}\\); please tell #billing-ops`),
    );
    expect(await row(ids.globex)).toMatchObject({ status: 'assigned', assignee: ALICE });
  });
});

// ---------------------------------------------------------------------------------------------
// Races and Slack failures
// ---------------------------------------------------------------------------------------------

describe('when two people or Slack get in the way', () => {
  it('two Resolve submissions at once: exactly one wins, the other is told who resolved it, one audit entry', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    const target = button(blocksOf(list), 'Resolve', ids.globex.toString());
    await click(target, { ephemeral: true, user: ALICE });
    const aliceModal = await openedModal(1);
    await click(target, { ephemeral: true, user: BOB });
    const bobModal = await openedModal(2);

    const [a, b] = await Promise.all([
      submit(aliceModal.callbackId, aliceModal.metadata, resolveValues('posted_in_gl', 'Alice: posted in JE-1'), ALICE),
      submit(bobModal.callbackId, bobModal.metadata, resolveValues('timing_difference', 'Bob: timing'), BOB),
    ]);
    const answers = [a, b].map((r) => r.text);
    expect(answers.filter((x) => x === '')).toHaveLength(1);
    const winner = a.text === '' ? ALICE : BOB;
    const loser = winner === ALICE ? b : a;
    const winnerName = winner === ALICE ? 'alice' : 'bob';
    const code = winner === ALICE ? 'posted_in_gl' : 'timing_difference';
    expect(loser.json()).toEqual({
      response_action: 'errors',
      errors: { resolution_code: `Exception #${ids.globex} was already resolved by @${winnerName} at 2026-11-02 14:00 UTC (${code}).` },
    });
    expect(await row(ids.globex)).toMatchObject({ status: 'resolved', resolved_by: winner, resolution_code: code, version: 2 });
    expect((await audit(ids.globex)).filter((e) => e.action === 'exception.resolved')).toHaveLength(1);
  });

  it('a 429 on views.open is waited out and retried: the modal opens once', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    t.slack.rateLimitNext('views.open', { retryAfterSeconds: 1 });
    await click(button(blocksOf(list), 'Resolve', ids.globex.toString()), { ephemeral: true });
    const modal = await openedModal();
    expect(modal.callbackId).toBe(VIEW.exceptionResolve);
    expect(t.slack.callsTo('views.open').map((c) => c.status)).toEqual([429, 200]);
    expect(t.slack.responses.filter((r) => shownText(r.body['blocks']).includes(':warning:'))).toEqual([]);
  });

  it('an ok:false from views.open reaches the person with an error id, and nothing changes', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    t.slack.failNext('views.open', { error: 'expired_trigger_id' });
    const id = await click(button(blocksOf(list), 'Snooze', ids.globex.toString()), { ephemeral: true });
    const answer = await response(id);
    expect(answer.body['replace_original']).toBe(false);
    expect(shownText(blocksOf(answer))).toMatch(/^:warning: Something went wrong on our side \(error id E-[0-9a-f]{8}\)\. Nothing was changed/);
    expect(await row(ids.globex)).toMatchObject({ status: 'open', version: 1 });
  });

  it('a resolve whose list can no longer be replaced (response_url refused) is told with chat.postEphemeral', async () => {
    const ids = await seedQueue();
    const list = await slash('exceptions');
    await click(button(blocksOf(list), 'Resolve', ids.globex.toString()), { ephemeral: true });
    const modal = await openedModal();
    t.slack.failNext('response_url', { error: 'expired_url', times: 2 });
    expect((await submit(modal.callbackId, modal.metadata, resolveValues('written_off', 'Written off per controller'))).text).toBe('');
    const told = await t.slack.waitForCall('chat.postEphemeral', { timeoutMs: 5000 });
    expect(told.args).toMatchObject({ channel: CHANNEL, user: ALICE });
    expect(String(told.args['text'])).toMatch(new RegExp(`^#${ids.globex} is resolved\\. Then something went wrong on our side \\(error id E-`));
    expect(await row(ids.globex)).toMatchObject({ status: 'resolved', resolution_code: 'written_off' });
  });
});
