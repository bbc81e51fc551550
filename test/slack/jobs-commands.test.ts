import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { JOB_BODIES, type JobBodies } from '../../src/jobs/index.js';
import { ManualClock } from '../support/clock.js';
import { type TestApp, startTestApp } from '../support/app.js';
import { RESPONSE_URL, type RecordedResponse } from '../support/fake-slack.js';
import { insertBillingRecords, insertGlEntries } from '../support/recon.js';
import { sendSlashCommand } from '../support/slack-requests.js';

const ALICE = 'U0ALICE01'; // importer
const DAVE = 'U0DAVE001'; // admin
const BOB = 'U0BOB0001'; // no role
const CAROL = 'U0CAROL01'; // in the finance user group
const FINANCE_GROUP = 'S0FIN0001';
const CHANNEL = 'C0BILLING';

const YAML = `
org:
  timezone: America/New_York
roles:
  admin: [${DAVE}]
  importer: [${ALICE}, ${FINANCE_GROUP}]
`;

type Block = { type: string; text?: { text?: string }; fields?: Array<{ text: string }>; elements?: Array<{ text?: string }> };

/** What a person reads in a message: every text of every block, in order. */
function shown(blocks: unknown): string {
  return ((blocks ?? []) as Block[])
    .flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => e.text ?? '')])
    .filter(Boolean)
    .join('\n');
}

/** A reconcile the test can hold at a gate (to have one in progress), or make fail. */
function controllableReconcile() {
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => undefined;
  let failNext = false;
  const bodies: JobBodies = {
    ...JOB_BODIES,
    reconcile: (deps) => {
      const real = JOB_BODIES.reconcile?.(deps);
      if (typeof real !== 'function') throw new Error('the reconcile job has no body');
      return async (ctx) => {
        await gate;
        if (failNext) {
          failNext = false;
          throw new Error('connection to the GL database reset');
        }
        return real(ctx);
      };
    },
  };
  return {
    bodies,
    hold() {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
    failNext() {
      failNext = true;
    },
  };
}

describe('/billing reconcile and /billing jobs', () => {
  let t: TestApp;
  const clock = new ManualClock('2026-11-02T12:00:00Z');
  const control = controllableReconcile();
  let seq = 0;

  /** Send `/billing <text>` as `user`; the ack's body and a way to wait for what comes after. */
  async function billing(text: string, user = ALICE) {
    const id = `r${++seq}`;
    const res = await sendSlashCommand(t.baseUrl, t.signingSecret, {
      command: '/billing',
      text,
      user_id: user,
      channel_id: CHANNEL,
      response_url: t.slack.responseUrl(id),
    });
    expect(res.status).toBe(200);
    const ack = res.text ? (res.json() as Record<string, unknown>) : null;
    const next = (count = 1): Promise<RecordedResponse> => t.slack.waitForResponse({ id, count, timeoutMs: 15_000 });
    return { ack, next, id };
  }

  const jobRuns = async () =>
    (
      await sql<{ id: bigint; job_name: string; trigger: string; triggered_by: string; outcome: string; error_id: string | null }>`
        select id, job_name, trigger, triggered_by, outcome, error_id from job_runs order by id`.execute(t.db.db)
    ).rows;
  const reconciliations = async () => Number((await sql<{ n: bigint }>`select count(*) as n from reconciliation_runs`.execute(t.db.db)).rows[0]?.n);

  beforeAll(async () => {
    t = await startTestApp({ yaml: YAML, clock, jobBodies: control.bodies });
    t.slack.usergroups.set(FINANCE_GROUP, [CAROL]);
    await insertBillingRecords(t.db.db, [
      { key: 'charge:ch_3QJobsMatched000000001', kind: 'charge', refs: ['ch_3QJobsMatched000000001'], amount: 125_000n, currency: 'USD', date: '2026-10-05' },
      { key: 'charge:ch_3QJobsMissingInGl000001', kind: 'charge', refs: ['ch_3QJobsMissingInGl000001'], amount: 48_000n, currency: 'USD', date: '2026-10-06' },
    ]);
    await insertGlEntries(t.db.db, [
      { key: 'gl-1', account: 'Stripe Clearing', amount: 125_000n, currency: 'USD', date: '2026-10-06', stripeIds: ['ch_3QJobsMatched000000001'] },
    ]);
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => {
    t.slack.reset();
  });
  afterEach(() => {
    t.slack.assertNoViolations();
  });

  it('acks at once, runs the reconcile, and posts the result in the channel', async () => {
    const { ack, next } = await billing('reconcile');
    expect(ack).toMatchObject({ response_type: 'ephemeral', text: "Reconciling… I'll post the result here when it is done." });

    const result = await next();
    expect(result.body['response_type']).toBe('in_channel');
    expect(result.body['replace_original']).toBe(false);
    const text = shown(result.body['blocks']);
    expect(text).toMatch(/^:white_check_mark: Reconcile finished in [\d.]+ (ms|s) — 1 new match, 1 new exception\.$/m);
    expect(text).toContain('*Billing records (Stripe)*\n• matched this run: *1* — $1,250.00\n• billing only: *1* — $480.00');
    expect(text).toContain('*GL entries*\n• matched this run: *1* — $1,250.00\n• expected GL-only: *0* — —\n• GL only: *0* — —');
    expect(text).toContain('• new: *1*  • reopened: *0*  • auto-resolved: *0*\n• open now: *1*');
    expect(text).toMatch(new RegExp(`Asked for by <@${ALICE}> · reconciliation run #\\d+ · job run #\\d+`));

    const [run] = await jobRuns();
    expect(run).toMatchObject({ job_name: 'reconcile', trigger: 'slack', triggered_by: ALICE, outcome: 'succeeded' });
    const requested = await listAudit(t.db.db, { entity: { type: 'job_run', id: String(run?.id) } });
    expect(requested).toEqual([expect.objectContaining({ actor: expect.objectContaining({ id: ALICE }), action: 'job.run_requested', source: 'slack' })]);
    expect(requested[0]?.context).toMatchObject({ channel: CHANNEL });
    // The run itself is audited as the person's, from Slack.
    const reconciled = (await listAudit(t.db.db, {})).filter((a) => a.action === 'reconcile.run');
    expect(reconciled.map((a) => [a.actor.kind, a.actor.id, a.source])).toEqual([['slack_user', ALICE, 'slack']]);
  });

  it('says a reconcile is already running instead of queueing a second one', async () => {
    const before = await jobRuns();
    const runsBefore = await reconciliations();
    control.hold();
    const first = await billing('reconcile', ALICE);
    await expect.poll(() => t.app.jobs.running.has('reconcile')).toBe(true);

    const second = await billing('reconcile', DAVE);
    expect(second.ack).toMatchObject({ text: "Reconciling… I'll post the result here when it is done." });
    const busy = await second.next();
    expect(busy.body['response_type']).toBe('ephemeral');
    expect(shown(busy.body['blocks'])).toBe(
      `:hourglass: A reconcile is already running (started 2026-11-02 07:00 by <@${ALICE}> from Slack), so I did not start another. ` +
        'Its result is posted where it was asked for; `/billing jobs` shows when it finished.',
    );

    control.release();
    const done = await first.next();
    expect(done.body['response_type']).toBe('in_channel');
    expect(shown(done.body['blocks'])).toContain('Reconcile finished');
    const after = await jobRuns();
    expect(after.slice(before.length).map((r) => [r.triggered_by, r.outcome])).toEqual([[ALICE, 'succeeded']]);
    expect(await reconciliations()).toBe(runsBefore + 1);
  });

  it('lets a member of an importer user group start it, once Slack confirms the membership', async () => {
    const { ack, next } = await billing('reconcile', CAROL);
    expect(ack).toBeNull();
    expect((await next(1)).body).toMatchObject({ response_type: 'ephemeral', text: "Reconciling… I'll post the result here when it is done." });
    expect((await next(2)).body['response_type']).toBe('in_channel');
    expect(t.slack.callsTo('usergroups.users.list').map((c) => c.args['usergroup'])).toEqual([FINANCE_GROUP]);
    expect((await jobRuns()).at(-1)).toMatchObject({ triggered_by: CAROL, outcome: 'succeeded' });
  });

  it('refuses someone without the role, and starts nothing', async () => {
    const before = await jobRuns();
    const runsBefore = await reconciliations();
    const { ack, next } = await billing('reconcile', BOB);
    expect(ack).toBeNull();
    const refusal = await next();
    expect(refusal.body['response_type']).toBe('ephemeral');
    expect(shown(refusal.body['blocks'])).toBe(
      `:no_entry: Sorry <@${BOB}>, only people with the importer or admin role can start a reconcile, so I did not start one. ` +
        'An admin can add you under `roles.importer` in billops.yml. The daily reconcile still runs on its schedule.',
    );
    expect(await jobRuns()).toEqual(before);
    expect(await reconciliations()).toBe(runsBefore);
  });

  it('posts the result with chat.postMessage when the response_url no longer works', async () => {
    t.slack.failNext(RESPONSE_URL, { error: 'expired_url' });
    const { next } = await billing('reconcile', DAVE);
    expect((await next()).status).toBe(404);
    const posted = await t.slack.waitForCall('chat.postMessage', { timeoutMs: 15_000 });
    expect(posted.args['channel']).toBe(CHANNEL);
    expect(String(posted.args['text'])).toMatch(/^Reconcile finished in [\d.]+ (ms|s): 0 new matches; billing only 1, GL only 0; 0 new exceptions, 1 open\.$/);
    expect(shown(posted.args['blocks'])).toContain(`Asked for by <@${DAVE}>`);
  });

  it('answers bad arguments with the usage line, in the ack', async () => {
    const { ack } = await billing('reconcile now please');
    expect(ack).toMatchObject({ response_type: 'ephemeral' });
    expect(shown(ack?.['blocks'])).toBe(':warning: `reconcile` takes no arguments (got "now please").\nUsage: `/billing reconcile`');
    const jobs = await billing('jobs all');
    expect(shown(jobs.ack?.['blocks'])).toBe(':warning: `jobs` takes no arguments (got "all").\nUsage: `/billing jobs`');
  });

  it('a failed run shows the error id, which is the one in job_runs', async () => {
    control.failNext();
    const { next } = await billing('reconcile');
    const failed = await next();
    expect(failed.body['response_type']).toBe('ephemeral');
    const text = shown(failed.body['blocks']);
    const id = /error id (E-[0-9a-f]{8})\)/.exec(text)?.[1];
    expect(text).toBe(
      `:x: The reconcile failed on our side (error id ${id}). Nothing was changed; please try again or tell #billing-ops.\n` +
        `Job run #${(await jobRuns()).at(-1)?.id} · error id \`${id}\``,
    );
    expect((await jobRuns()).at(-1)).toMatchObject({ outcome: 'failed', error_id: id, triggered_by: ALICE });
  });

  it('/billing jobs lists every job: schedule in words and cron, next fire time, last run', async () => {
    const { ack, next } = await billing('jobs', BOB);
    expect(ack).toBeNull();
    const list = await next();
    expect(list.body['response_type']).toBe('ephemeral');
    const blocks = list.body['blocks'] as Block[];
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Scheduled jobs' } });
    const lastFailure = (await jobRuns()).at(-1);
    const sections = blocks.filter((b) => b.type === 'section').map((b) => b.text?.text);
    expect(sections[0]).toMatch(
      new RegExp(
        '^\\*Reconcile Stripe against the GL\\* \\(`reconcile`\\)\\n' +
          ':large_green_circle: Every day at 06:00 \\(`0 6 \\* \\* \\*`\\) · next 2026-11-03 06:00\\n' +
          `Last run: 2026-11-02 07:00 by <@${ALICE}> from Slack — :x: failed in [\\d.]+ (ms|s) · error id \`${lastFailure?.error_id}\`$`,
      ),
    );
    expect(sections.slice(1)).toEqual([
      '*Daily exception digest* (`exception_digest`)\n:large_green_circle: Weekdays at 08:30 (`30 8 * * 1-5`) · next 2026-11-02 08:30\nLast run: never',
      '*High-value straggler DMs* (`straggler_alerts`)\n:large_green_circle: Weekdays at 10:00 (`0 10 * * 1-5`) · next 2026-11-02 10:00\nLast run: never',
      '*Stripe backfill (safety net for missed webhooks)* (`stripe_backfill`)\n' +
        ':large_green_circle: Every 6 hours at :15 (`15 */6 * * *`) · next 2026-11-02 12:15\nLast run: never',
      '*Execute approved money actions (safety net for the outbox worker)* (`approval_outbox`)\n:large_green_circle: Every minute (`* * * * *`) · next 2026-11-02 07:01\nLast run: never',
      '*Expire undecided approval requests* (`approval_expiry`)\n:large_green_circle: Every 15 minutes (`*/15 * * * *`) · next 2026-11-02 07:15\nLast run: never',
      '*Collections: dunning steps due today* (`collections`)\n:large_green_circle: Every day at 09:00 (`0 9 * * *`) · next 2026-11-02 09:00\nLast run: never',
    ]);
    expect(shown(blocks)).toContain('Times in America/New_York (org time zone).');
  });

  it('with roles listed by user only, refuses right in the ack; with no roles configured everyone may reconcile', async () => {
    // Two more replicas of billops on the same database, configured differently.
    const strict = await startTestApp({ yaml: `roles:\n  importer: [${ALICE}]\n`, db: t.db });
    try {
      const before = await jobRuns();
      const res = await sendSlashCommand(strict.baseUrl, strict.signingSecret, { command: '/billing', text: 'reconcile', user_id: BOB, response_url: strict.slack.responseUrl('x') });
      const ack = res.json() as Record<string, unknown>;
      expect(ack['response_type']).toBe('ephemeral');
      expect(shown(ack['blocks'])).toBe(
        `:warning: Sorry <@${BOB}>, only people with the importer or admin role can start a reconcile, so I did not start one. ` +
          'An admin can add you under `roles.importer` in billops.yml. The daily reconcile still runs on its schedule.',
      );
      expect(strict.slack.responses).toEqual([]);
      expect(await jobRuns()).toEqual(before);
    } finally {
      await strict.close();
    }
    const open = await startTestApp({ db: t.db });
    try {
      const res = await sendSlashCommand(open.baseUrl, open.signingSecret, { command: '/billing', text: 'reconcile', user_id: BOB, response_url: open.slack.responseUrl('y') });
      expect((res.json() as Record<string, unknown>)['text']).toBe("Reconciling… I'll post the result here when it is done.");
      const result = await open.slack.waitForResponse({ id: 'y', timeoutMs: 15_000 });
      expect(result.body['response_type']).toBe('in_channel');
      expect(shown(result.body['blocks'])).toContain('Reconcile finished');
      expect((await jobRuns()).at(-1)).toMatchObject({ triggered_by: BOB, outcome: 'succeeded' });
    } finally {
      await open.close();
    }
  });
});
