import { WebClient } from '@slack/web-api';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SlackContext } from '../../src/slack/context.js';
import { DigestPostError, type Pacer, createPacer, noPacing, postExceptionDigest } from '../../src/slack/digests/index.js';
import { UserError, silentLogger } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { insertExceptions, insertManyExceptions } from '../support/exception-rows.js';
import { type FakeSlack, type RecordedCall, fakeSlackClientOptions, silentSlackLogger, startFakeSlack } from '../support/fake-slack.js';

/**
 * The daily exception digest as the finance team sees it in the digest channel: the numbers, the
 * callouts, the biggest items with their buttons, and the detail in the thread — within Block Kit
 * limits however much is open, paced, and complete through a 429.
 */

const DIGEST = 'C0DIGEST1';
const YAML = `
org:
  timezone: America/New_York
  reporting_currency: USD
  fx_rates: { EUR: "1.10" }
slack:
  channels:
    digest: ${DIGEST}
thresholds:
  high_value: "5000.00 USD"
  new_unmatched_per_day: 2
  drift_weeks: 3
`;
const NOW = '2026-11-04T13:30:00Z'; // Wed 08:30 in New York (EST)

let db: TestDb;
let slack: FakeSlack;
let client: WebClient;
const clock = new ManualClock(NOW);
const ctx = (yaml = YAML): SlackContext => ({ config: testConfig({ yaml }), db, clock, logger: silentLogger });

type Block = {
  type: string;
  block_id?: string;
  text?: { text?: string };
  fields?: Array<{ text: string }>;
  elements?: Array<{ text?: string; action_id?: string; value?: string }>;
};

function blocksOf(call: RecordedCall | undefined): Block[] {
  return (call?.args['blocks'] ?? []) as Block[];
}

function textOf(call: RecordedCall | undefined): string {
  return blocksOf(call)
    .flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => e.text ?? '')])
    .join('\n');
}

function posts(): RecordedCall[] {
  return slack.callsTo('chat.postMessage').filter((c) => c.status === 200 && c.response['ok'] === true);
}

/** Hand-computed fixture: see the expectations below. */
async function seed(): Promise<Record<string, bigint>> {
  const rows = {
    globex: { kind: 'missing_in_gl', amount: 750_000n, customerName: 'Globex', severity: 'critical' as const, openedAt: '2026-11-01T14:00:00Z' },
    initech: { kind: 'missing_in_gl', amount: 2_000n, customerName: 'Initech', severity: 'low' as const, openedAt: '2026-11-04T06:00:00Z' },
    wayne: { kind: 'amount_mismatch', amount: 10_000n, currency: 'EUR', customerName: 'Wayne', openedAt: '2026-11-04T07:00:00Z' },
    glOnly: { kind: 'missing_in_billing', amount: -3_000n, severity: 'low' as const, openedAt: '2026-11-04T08:00:00Z' },
    failed: { kind: 'failed_payment', amount: 40_000n, status: 'assigned' as const, assignee: 'U0ALICE01', openedAt: '2026-10-20T12:00:00Z' },
    done: { kind: 'duplicate_in_gl', amount: 1_000n, status: 'resolved' as const, openedAt: '2026-10-01T12:00:00Z', resolvedAt: '2026-11-04T09:00:00Z' },
    small: { kind: 'missing_in_gl', amount: 500n, openedAt: '2026-10-14T12:00:00Z' },
    voided: { kind: 'void_not_reflected', amount: 700n, openedAt: '2026-10-21T12:00:00Z' },
  };
  const ids = await insertExceptions(db.db, Object.values(rows));
  return Object.fromEntries(Object.keys(rows).map((k, i) => [k, ids[i] ?? 0n]));
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
  await sql`delete from digest_posts`.execute(db.db);
});
afterEach(() => {
  slack.assertNoViolations();
});

describe('the daily exception digest', () => {
  it('posts counts and amounts by kind, new and resolved, the callouts and the high-value item, with the detail in the thread', async () => {
    const ids = await seed();
    const summary = await postExceptionDigest(ctx(), client, { pacer: noPacing });

    const [parent, ...thread] = posts();
    expect(parent?.args['channel']).toBe(DIGEST);
    expect(parent?.args['thread_ts']).toBeUndefined();
    expect(parent?.args['text']).toBe('Exception digest 2026-11-04: 7 open, 3 new, 1 resolved (threshold breach, drift)');
    const blocks = blocksOf(parent);
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Exception digest · 2026-11-04' } });
    expect(blocks[1]?.text?.text).toBe(
      '*7 exceptions open* — critical 1 · high 0 · medium 4 · low 2\n' +
        '*3 new* in the last 24 hours (€100.00 · $50.00) · *1 resolved* ($10.00)',
    );
    expect(blocks[2]?.text?.text).toBe(
      ':rotating_light: *Threshold breach:* 3 new unmatched items today (2026-11-04), over the limit of 2.\n' +
        'Missing in GL 1 · Missing in billing 1 · Amount mismatch 1',
    );
    expect(blocks[3]?.text?.text).toBe(
      ':chart_with_upwards_trend: *Drift:* the unmatched balance rose 3 weeks in a row (weeks of 2026-10-05 to 2026-10-26).\n' +
        '$10.00 → $15.00 → $22.00 → $7,522.00',
    );
    expect(blocks.find((b) => b.fields)?.fields?.map((f) => f.text)).toEqual([
      '*Missing in GL*\n3 · $7,525.00',
      '*Missing in billing*\n1 · $30.00',
      '*Amount mismatch*\n1 · €100.00',
      '*Void not reflected in GL*\n1 · $7.00',
      '*Failed payment*\n1 · $400.00',
    ]);
    const text = textOf(parent);
    expect(text).toContain('*High-value items* ($5,000.00 or more): 1 open, 1 of them for more than 24 hours. The biggest:');
    expect(text).toContain(`*#${ids['globex']}* · Missing in GL · *$7,500.00* · Globex · open 2d · :red_circle: critical · unassigned`);
    const actions = blocks.find((b) => b.type === 'actions');
    expect(actions?.elements?.map((e) => [e.action_id, e.value])).toEqual([
      [`exception_assign_me:${ids['globex']}`, String(ids['globex'])],
      [`exception_resolve:${ids['globex']}`, String(ids['globex'])],
      [`exception_snooze:${ids['globex']}`, String(ids['globex'])],
      [`exception_details:${ids['globex']}`, String(ids['globex'])],
    ]);
    expect(text).toContain('As of 2026-11-04 08:30 (America/New_York). Items by kind are in the thread.');

    // one thread message per kind here, each threaded under the digest
    expect(thread.map((c) => c.args['thread_ts'])).toEqual(thread.map(() => parent?.response['ts']));
    expect(thread.map((c) => c.args['text'])).toEqual([
      'Missing in GL: 1–3 of 3 open',
      'Missing in billing: 1–1 of 1 open',
      'Amount mismatch: 1–1 of 1 open',
      'Void not reflected in GL: 1–1 of 1 open',
      'Failed payment: 1–1 of 1 open',
    ]);
    // by severity, then biggest: the $5.00 medium one before the $20.00 low one
    expect(blocksOf(thread[0]).filter((b) => b.block_id?.startsWith('digest_item:')).map((b) => b.block_id)).toEqual([
      `digest_item:${ids['globex']}`,
      `digest_item:${ids['small']}`,
      `digest_item:${ids['initech']}`,
    ]);
    expect(textOf(thread[4])).toContain('*$400.00* · open 15d · medium · assigned to <@U0ALICE01>');

    expect(summary).toMatchObject({
      channel: DIGEST,
      ts: parent?.response['ts'],
      asOf: '2026-11-04T13:30:00.000Z',
      since: null,
      open: 7,
      newSince: 3,
      resolvedSince: 1,
      highValue: 1,
      stragglers: 1,
      breach: true,
      drift: true,
      threadMessages: 5,
      itemsInThread: 7,
    });
    const rows = await sql<{ status: string; ts: string; thread_messages: number }>`select status, ts, thread_messages from digest_posts`.execute(db.db);
    expect(rows.rows).toEqual([{ status: 'posted', ts: parent?.response['ts'], thread_messages: 5 }]);
  });

  it('"since the last digest" starts exactly where the last posted digest ended', async () => {
    const ids = await seed();
    await postExceptionDigest(ctx(), client, { pacer: noPacing });
    slack.reset();
    clock.set('2026-11-05T13:30:00Z');
    await insertExceptions(db.db, [{ kind: 'missing_in_gl', amount: 1_234n, openedAt: '2026-11-04T13:30:00Z' }]); // exactly at the last as-of: already counted
    await insertExceptions(db.db, [{ kind: 'missing_in_gl', amount: 4_321n, openedAt: '2026-11-04T13:30:01Z' }]);
    await sql`update exceptions set status = 'resolved', resolved_at = '2026-11-05T10:00:00Z', resolved_by = 'U0BOB0001' where id = ${ids['initech']}`.execute(db.db);

    const summary = await postExceptionDigest(ctx(), client, { pacer: noPacing });
    expect(summary).toMatchObject({ since: '2026-11-04T13:30:00.000Z', newSince: 1, resolvedSince: 1, breach: false });
    expect(blocksOf(posts()[0])[1]?.text?.text).toContain('*1 new* since the last digest (2026-11-04 08:30) ($43.21) · *1 resolved* ($20.00)');
  });

  it('10,000 open exceptions: every message within Block Kit limits, capped, pointing to /billing exceptions', async () => {
    await insertManyExceptions(db.db, 10_000, clock.now());
    const summary = await postExceptionDigest(ctx(), client, { pacer: noPacing });
    expect(slack.violations).toEqual([]);
    const all = slack.callsTo('chat.postMessage');
    expect(all.every((c) => c.response['ok'] === true)).toBe(true);
    const [parent, ...thread] = all;
    expect(summary).toMatchObject({ open: 10_000, threadMessages: 16, itemsInThread: 160 });
    expect(blocksOf(parent).length).toBeLessThanOrEqual(50);
    expect(textOf(parent)).toContain('*10,000 exceptions open*');
    expect(textOf(parent)).toMatch(/\d[\d,]* more high-value: `\/billing exceptions` lists every open item/);
    expect(thread).toHaveLength(16);
    for (const c of thread) {
      expect(c.args['thread_ts']).toBe(parent?.response['ts']);
      expect(blocksOf(c).length).toBeLessThanOrEqual(50);
    }
    expect(textOf(thread[0])).toContain('*Missing in GL* — 1,250 open, the first 20 (critical first, biggest first)');
    expect(textOf(thread[1])).toContain('*Missing in GL* (continued, 11–20)');
    expect(textOf(thread[1])).toContain('1,230 more: `/billing exceptions missing_in_gl`');
    expect(textOf(thread[15])).toContain('1,230 more: `/billing exceptions dispute_open`');
  });

  it('a 429 in the middle of the thread is waited out and the digest is complete', async () => {
    await seed();
    let waits = 0;
    const pacer: Pacer = {
      async wait() {
        waits += 1;
        if (waits === 3) slack.rateLimitNext('chat.postMessage', { retryAfterSeconds: 1 });
      },
    };
    const summary = await postExceptionDigest(ctx(), client, { pacer });
    const calls = slack.callsTo('chat.postMessage');
    expect(calls.map((c) => c.status)).toEqual([200, 200, 429, 200, 200, 200, 200]);
    expect(posts().map((c) => c.args['text'])).toEqual([
      'Exception digest 2026-11-04: 7 open, 3 new, 1 resolved (threshold breach, drift)',
      'Missing in GL: 1–3 of 3 open',
      'Missing in billing: 1–1 of 1 open',
      'Amount mismatch: 1–1 of 1 open',
      'Void not reflected in GL: 1–1 of 1 open',
      'Failed payment: 1–1 of 1 open',
    ]);
    expect(summary.threadMessages).toBe(5);
  });

  it('a Slack error mid-thread fails the run, and the next digest still counts from the last complete one', async () => {
    await seed();
    const first = await postExceptionDigest(ctx(), client, { pacer: noPacing });
    clock.set('2026-11-05T13:30:00Z');
    slack.reset();
    let waits = 0;
    const pacer: Pacer = {
      async wait() {
        waits += 1;
        if (waits === 2) slack.failNext('chat.postMessage', { error: 'channel_not_found' });
      },
    };
    const err = await postExceptionDigest(ctx(), client, { pacer }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestPostError);
    expect((err as Error).message).toBe(`Posting the exception digest to ${DIGEST} failed after 1 of 6 messages: An API error occurred: channel_not_found`);
    const rows = await sql<{ status: string }>`select status from digest_posts order by id`.execute(db.db);
    expect(rows.rows.map((r) => r.status)).toEqual(['posted', 'failed']);

    clock.set('2026-11-05T14:00:00Z');
    const again = await postExceptionDigest(ctx(), client, { pacer: noPacing });
    expect(again.since).toBe(first.asOf);
  });

  it('without a digest channel: a clear error, nothing posted, nothing recorded', async () => {
    await seed();
    const err = await postExceptionDigest(ctx(YAML.replace(`    digest: ${DIGEST}\n`, '    ops: C0OPS0001\n')), client, { pacer: noPacing }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe('No digest channel is configured: set slack.channels.digest in billops.yml to a channel id (C…) and invite billops to it.');
    expect(slack.callsTo('chat.postMessage')).toEqual([]);
    expect((await sql`select * from digest_posts`.execute(db.db)).rows).toEqual([]);
  });

  it('paces posts one second apart in the channel', async () => {
    await seed();
    let t = 0;
    const slept: number[] = [];
    const pacer = createPacer({
      now: () => t,
      sleep: async (ms) => {
        slept.push(ms);
        t += ms;
      },
    });
    await postExceptionDigest(ctx(), client, { pacer });
    expect(posts()).toHaveLength(6);
    expect(slept).toEqual([1000, 1000, 1000, 1000, 1000]);
    // another channel has its own budget
    await pacer.wait('C0OTHER01');
    expect(slept).toHaveLength(5);
  });
});
