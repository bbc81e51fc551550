import { WebClient } from '@slack/web-api';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SlackContext } from '../../src/slack/context.js';
import { noPacing, sendStragglerAlerts } from '../../src/slack/digests/index.js';
import { silentLogger } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { insertExceptions } from '../support/exception-rows.js';
import { type FakeSlack, type RecordedCall, fakeSlackClientOptions, silentSlackLogger, startFakeSlack } from '../support/fake-slack.js';

/**
 * High-value straggler DMs as the owner or the on-call person gets them: one per exception per day
 * (in the org time zone), whatever the number of replicas; a failed send is tried again; nothing is
 * dropped silently.
 */

const ALICE = 'U0ALICE01';
const ONCALL = 'U0ONCALL1';
const yaml = (onCall: string | null) => `
org:
  timezone: America/New_York
slack:
${onCall ? `  on_call: ${onCall}` : '  command: /billing'}
thresholds:
  high_value: "5000.00 USD"
`;
const NOW = '2026-11-04T15:00:00Z'; // Wed 10:00 in New York

let db: TestDb;
let slack: FakeSlack;
let client: WebClient;
const clock = new ManualClock(NOW);
const ctx = (onCall: string | null = ONCALL, database = db): SlackContext => ({ config: testConfig({ yaml: yaml(onCall) }), db: database, clock, logger: silentLogger });
let ids: Record<string, bigint> = {};

function dms(): RecordedCall[] {
  return slack.callsTo('chat.postMessage').filter((c) => c.response['ok'] === true);
}

function dmTo(user: string): RecordedCall[] {
  const channel = slack.dmChannelFor(user);
  return dms().filter((c) => c.args['channel'] === channel);
}

function textOf(call: RecordedCall | undefined): string {
  const blocks = (call?.args['blocks'] ?? []) as Array<{ text?: { text?: string }; elements?: Array<{ text?: string }> }>;
  return blocks.flatMap((b) => [b.text?.text ?? '', ...(b.elements ?? []).map((e) => e.text ?? '')]).join('\n');
}

async function deliveries(): Promise<Array<{ dedupe_key: string; status: string; attempts: number }>> {
  return (await sql<{ dedupe_key: string; status: string; attempts: number }>`
    select dedupe_key, status, attempts from alert_deliveries order by dedupe_key`.execute(db.db)).rows;
}

beforeAll(async () => {
  db = await createTestDb();
  slack = await startFakeSlack();
  client = new WebClient(slack.token, { ...fakeSlackClientOptions(slack), logger: silentSlackLogger() });
});
afterAll(async () => {
  await slack.close();
  await db.cleanup();
});
beforeEach(async () => {
  slack.reset();
  clock.set(NOW);
  await sql`delete from exceptions`.execute(db.db);
  await sql`delete from alert_deliveries`.execute(db.db);
  const rows = {
    alices: { amount: 750_000n, status: 'assigned' as const, assignee: ALICE, customerName: 'Globex', openedAt: '2026-11-01T15:00:00Z' },
    nobodys: { kind: 'missing_in_billing', amount: -600_000n, openedAt: '2026-11-02T15:00:00Z' },
    cliAssigned: { amount: 550_000n, status: 'assigned' as const, assignee: 'alice', openedAt: '2026-11-02T15:00:00Z' },
    fresh: { amount: 900_000n, openedAt: '2026-11-04T13:00:00Z' }, // 2 h: not a straggler yet
    small: { amount: 100_000n, openedAt: '2026-10-30T15:00:00Z' }, // under the threshold
  };
  const inserted = await insertExceptions(db.db, Object.values(rows));
  ids = Object.fromEntries(Object.keys(rows).map((k, i) => [k, inserted[i] ?? 0n]));
});
afterEach(() => {
  slack.assertNoViolations();
});

describe('high-value straggler DMs', () => {
  it('DMs the assignee, and the on-call for unassigned (or not-in-Slack) ones, with the action buttons', async () => {
    const summary = await sendStragglerAlerts(ctx(), client, { pacer: noPacing });
    expect(summary).toEqual({ day: '2026-11-04', stragglers: 3, sent: 3, alreadySent: 0, recipients: 2, failed: [], unrouted: [], overflow: [] });
    expect(slack.callsTo('conversations.open').map((c) => c.args['users'])).toEqual([ALICE, ONCALL]);

    const [alice] = dmTo(ALICE);
    expect(alice?.args['text']).toBe(`High-value straggler #${ids['alices']}: Missing in GL, $7,500.00, open 3d`);
    expect(textOf(alice)).toContain(`*#${ids['alices']}* · Missing in GL · *$7,500.00* · Globex · open 3d · medium · assigned to <@${ALICE}>`);
    expect(textOf(alice)).toContain('Open since 2026-11-01 10:00 (America/New_York).');
    expect(textOf(alice)).toContain('You are getting this because it is assigned to you. At most one reminder a day while it stays open.');
    const buttons = (alice?.args['blocks'] as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>).find((b) => b.type === 'actions');
    expect(buttons?.elements?.map((e) => [e.action_id, e.value])).toEqual([
      ['exception_assign_me', String(ids['alices'])],
      ['exception_resolve', String(ids['alices'])],
      ['exception_snooze', String(ids['alices'])],
      ['exception_details', String(ids['alices'])],
    ]);

    const onCall = dmTo(ONCALL);
    expect(onCall.map((c) => c.args['text'])).toEqual([
      `High-value straggler #${ids['nobodys']}: Missing in billing, -$6,000.00, open 2d`,
      `High-value straggler #${ids['cliAssigned']}: Missing in GL, $5,500.00, open 2d`,
    ]);
    expect(textOf(onCall[0])).toContain('You are getting this because you are on call and it has no owner in Slack.');
    expect((await deliveries()).map((d) => [d.dedupe_key, d.status])).toEqual(
      [
        [`straggler:${ids['alices']}:2026-11-04`, 'sent'],
        [`straggler:${ids['cliAssigned']}:2026-11-04`, 'sent'],
        [`straggler:${ids['nobodys']}:2026-11-04`, 'sent'],
      ].sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? '')),
    );
  });

  it('two replicas at once: each straggler is DMed once; later the same day nothing again; the next day again', async () => {
    const other = await db.another();
    const [a, b] = await Promise.all([
      sendStragglerAlerts(ctx(), client, { pacer: noPacing }),
      sendStragglerAlerts(ctx(ONCALL, { ...db, ...other }), client, { pacer: noPacing }),
    ]);
    expect(a.sent + b.sent).toBe(3);
    expect(a.alreadySent + b.alreadySent).toBe(3);
    expect(dms()).toHaveLength(3);

    clock.set('2026-11-05T04:30:00Z'); // 23:30 the same day in New York
    expect(await sendStragglerAlerts(ctx(), client, { pacer: noPacing })).toMatchObject({ day: '2026-11-04', sent: 0, alreadySent: 3 });
    expect(dms()).toHaveLength(3);

    clock.set('2026-11-05T05:00:00Z'); // midnight: a new day
    expect(await sendStragglerAlerts(ctx(), client, { pacer: noPacing })).toMatchObject({ day: '2026-11-05', sent: 3, alreadySent: 0 });
    expect(dms()).toHaveLength(6);
    expect(dmTo(ALICE)).toHaveLength(2);
  });

  it('a failed send does not use up the day: the next run sends it', async () => {
    slack.failNext('chat.postMessage', { error: 'account_inactive' });
    const first = await sendStragglerAlerts(ctx(), client, { pacer: noPacing });
    expect(first).toMatchObject({ sent: 2, failed: [{ exceptionId: String(ids['alices']), recipient: ALICE, error: 'account_inactive' }] });
    expect(dmTo(ALICE)).toHaveLength(0);
    expect((await deliveries()).find((d) => d.dedupe_key.startsWith(`straggler:${ids['alices']}:`))).toMatchObject({ status: 'failed', attempts: 1 });

    const second = await sendStragglerAlerts(ctx(), client, { pacer: noPacing });
    expect(second).toMatchObject({ sent: 1, alreadySent: 2, failed: [] });
    expect(dmTo(ALICE)).toHaveLength(1);
    expect((await deliveries()).find((d) => d.dedupe_key.startsWith(`straggler:${ids['alices']}:`))).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('an on-call user group: every member gets the DM', async () => {
    slack.usergroups.set('S0ONCALL1', ['U0CAROL01', 'U0DAVE001']);
    const summary = await sendStragglerAlerts(ctx('S0ONCALL1'), client, { pacer: noPacing });
    expect(summary).toMatchObject({ sent: 3, recipients: 3, failed: [] });
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(1);
    expect(dmTo('U0CAROL01').map((c) => c.args['text'])).toEqual(dmTo('U0DAVE001').map((c) => c.args['text']));
    expect(dmTo('U0CAROL01')).toHaveLength(2);
  });

  it('no owner and no on-call: reported as unrouted, not claimed, and sent once someone is on call', async () => {
    const summary = await sendStragglerAlerts(ctx(null), client, { pacer: noPacing });
    expect(summary).toMatchObject({ sent: 1, unrouted: [String(ids['nobodys']), String(ids['cliAssigned'])] });
    expect(await deliveries()).toHaveLength(1);

    const later = await sendStragglerAlerts(ctx(ONCALL), client, { pacer: noPacing });
    expect(later).toMatchObject({ sent: 2, alreadySent: 1, unrouted: [] });
    expect(dmTo(ONCALL)).toHaveLength(2);
  });

  it('more stragglers than a person should get in one go: the biggest, then one "and N more" DM', async () => {
    const summary = await sendStragglerAlerts(ctx(), client, { pacer: noPacing, maxPerRecipient: 1 });
    expect(summary).toMatchObject({ sent: 2, overflow: [{ recipient: ONCALL, count: 1 }] });
    expect(dmTo(ONCALL).map((c) => c.args['text'])).toEqual([
      `High-value straggler #${ids['nobodys']}: Missing in billing, -$6,000.00, open 2d`,
      '…and 1 more high-value straggler today.',
    ]);
    expect(textOf(dmTo(ONCALL)[1])).toContain('`/billing exceptions mine` and `/billing exceptions open` list them, biggest first.');

    // a second run the same day sends neither the next one nor another "more" DM
    const again = await sendStragglerAlerts(ctx(), client, { pacer: noPacing, maxPerRecipient: 1 });
    expect(again).toMatchObject({ sent: 0, alreadySent: 2 });
    expect(dmTo(ONCALL)).toHaveLength(2);
  });
});
