import { Writable } from 'node:stream';
import { sql } from 'kysely';
import cron from 'node-cron';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import {
  type JobBodies,
  type JobRunContext,
  type Jobs,
  buildJobDefinitions,
  createJobs,
  createScheduler,
  describeCron,
  drainJobs,
  fireKey,
  jobsOverview,
  nextFireTime,
  nextFireTimes,
  runJobOnce,
} from '../../src/jobs/index.js';
import { type Logger, UserError, createLogger, silentLogger } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: TestDb;
let second: Db;
let third: Db;

beforeAll(async () => {
  db = await createTestDb();
  second = await db.another();
  third = await db.another();
});
afterAll(async () => {
  await db?.cleanup();
});
beforeEach(async () => {
  await sql`delete from job_runs`.execute(db.db);
  await sql`delete from job_fires`.execute(db.db);
});

const YAML = `
org:
  timezone: America/New_York
schedules:
  reconcile: "0 6 * * *"
  stripe_backfill: "off"
`;

/** One replica's jobs, on its own database connection, with bodies the test controls. */
function replica(id: string, conn: Db, bodies: JobBodies, opts: { clock?: ManualClock; logger?: Logger; yaml?: string } = {}): Jobs {
  const config = testConfig({ yaml: opts.yaml ?? YAML });
  return createJobs({
    db: conn.db,
    config,
    clock: opts.clock ?? new ManualClock('2026-11-02T11:00:00Z'),
    logger: opts.logger ?? silentLogger,
    replicaId: id,
    definitions: buildJobDefinitions({ config }, bodies),
  });
}

async function runs() {
  const r = await sql<{ job_name: string; fire_key: string | null; outcome: string; replica_id: string; error_id: string | null; error_message: string | null; trigger: string }>`
    select job_name, fire_key, outcome, replica_id, error_id, error_message, trigger from job_runs order by id`.execute(db.db);
  return r.rows;
}

describe('exactly-once ticks across replicas', () => {
  it('three replicas firing the same ticks at once: each tick runs once, with one job_runs row', async () => {
    const calls: string[] = [];
    const body: JobBodies = {
      reconcile: () => async (ctx: JobRunContext) => {
        calls.push(ctx.fireTime.toISOString());
        await sleep(5);
        return { fired: ctx.fireTime.toISOString() };
      },
    };
    const replicas = [replica('r1', db, body), replica('r2', second, body), replica('r3', third, body)];
    const ticks = Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2026, 10, 2 + i, 11, 0, 0)));
    for (const tick of ticks) {
      // Each replica woke up a few milliseconds apart; the fire time is the scheduled instant all the same.
      const results = await Promise.all(replicas.map((r, i) => runJobOnce(r, 'reconcile', new Date(tick.getTime() + i * 7), 'schedule')));
      expect(results.map((r) => r.status).sort()).toEqual(['not_claimed', 'not_claimed', 'succeeded']);
    }
    expect(calls).toEqual(ticks.map((t) => t.toISOString()));
    const rows = await runs();
    expect(rows).toHaveLength(10);
    expect(rows.map((r) => r.fire_key)).toEqual(ticks.map((t) => `reconcile:${t.toISOString()}`));
    expect(rows.every((r) => r.outcome === 'succeeded' && r.trigger === 'schedule')).toBe(true);
    const fires = await sql<{ fire_key: string; replica_id: string }>`select fire_key, replica_id from job_fires order by fire_time`.execute(db.db);
    expect(fires.rows.map((f) => f.fire_key)).toEqual(rows.map((r) => r.fire_key));
    // The replica recorded on the run is the one whose fire-key insert went in.
    expect(fires.rows.map((f) => f.replica_id)).toEqual(rows.map((r) => r.replica_id));
  });

  it('fire keys are the scheduled instant to the second, the same on every replica', () => {
    expect(fireKey('reconcile', new Date('2026-11-02T11:00:00.000Z'))).toBe('reconcile:2026-11-02T11:00:00.000Z');
    expect(fireKey('reconcile', new Date('2026-11-02T11:00:00.999Z'))).toBe('reconcile:2026-11-02T11:00:00.000Z');
    expect(fireKey('reconcile', new Date('2026-11-02T11:00:01.000Z'))).toBe('reconcile:2026-11-02T11:00:01.000Z');
    expect(fireKey('exception_digest', new Date('2026-11-02T11:00:00.000Z'))).not.toBe(fireKey('reconcile', new Date('2026-11-02T11:00:00.000Z')));
  });

  it('a failing job is logged with an error id and recorded as failed; the next tick still runs', async () => {
    const { logger, lines } = capturingLogger();
    let fail = true;
    const r = replica(
      'r1',
      db,
      {
        reconcile: () => async () => {
          if (fail) throw new Error('GL connection reset');
          return { ok: true };
        },
      },
      { logger },
    );
    const first = await runJobOnce(r, 'reconcile', new Date('2026-11-02T11:00:00Z'), 'schedule');
    expect(first).toMatchObject({ status: 'failed', message: 'GL connection reset', userError: false });
    if (first.status !== 'failed') throw new Error('expected a failure');
    expect(first.errorId).toMatch(/^E-[0-9a-f]{8}$/);
    const logged = lines.find((l) => l['msg'] === 'job failed');
    expect(logged).toMatchObject({ errorId: first.errorId, job: 'reconcile', level: 50 });
    expect((logged?.['err'] as { message?: string }).message).toBe('GL connection reset');

    fail = false;
    const next = await runJobOnce(r, 'reconcile', new Date('2026-11-03T11:00:00Z'), 'schedule');
    expect(next.status).toBe('succeeded');
    expect(await runs()).toEqual([
      expect.objectContaining({ outcome: 'failed', error_id: first.errorId, error_message: 'GL connection reset' }),
      expect.objectContaining({ outcome: 'succeeded', error_id: null, error_message: null }),
    ]);
  });

  it('a tick that finds the job still running (on another replica) is recorded as skipped; nothing runs twice', async () => {
    const hold = gate();
    let running = 0;
    let maxRunning = 0;
    const body: JobBodies = {
      reconcile: () => async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await hold.promise;
        running--;
        return {};
      },
    };
    const a = replica('r1', db, body);
    const b = replica('r2', second, body);
    const slow = runJobOnce(a, 'reconcile', new Date('2026-11-02T11:00:00Z'), 'schedule');
    await expect.poll(() => running).toBe(1);
    const next = await runJobOnce(b, 'reconcile', new Date('2026-11-02T11:01:00Z'), 'schedule');
    expect(next).toMatchObject({ status: 'already_running', running: { replicaId: 'r1', trigger: 'schedule' } });
    const byHand = await runJobOnce(b, 'reconcile', new Date('2026-11-02T11:01:30Z'), 'cli', { actor: { kind: 'cli', id: 'ops' } });
    expect(byHand.status).toBe('already_running');
    hold.open();
    expect((await slow).status).toBe('succeeded');
    expect(maxRunning).toBe(1);
    // The person was told directly; only the tick leaves a skipped row.
    expect((await runs()).map((r) => [r.fire_key, r.outcome, r.replica_id])).toEqual([
      ['reconcile:2026-11-02T11:00:00.000Z', 'succeeded', 'r1'],
      ['reconcile:2026-11-02T11:01:00.000Z', 'skipped', 'r2'],
    ]);
  });

  it('a run left `running` by a replica that died is taken over once its heartbeat is stale', async () => {
    const clock = new ManualClock('2026-11-02T11:00:00Z');
    await sql`
      insert into job_runs (job_name, trigger, triggered_by, replica_id, started_at, heartbeat_at, outcome)
      values ('reconcile', 'schedule', 'reconcile', 'dead-pod', '2026-11-02T10:00:00Z', '2026-11-02T10:20:00Z', 'running')`.execute(db.db);
    const r = replica('r1', db, { reconcile: () => async () => ({}) }, { clock });
    expect((await runJobOnce(r, 'reconcile', clock.now(), 'cli', { actor: { kind: 'cli', id: 'ops' } })).status).toBe('succeeded');
    expect((await runs()).map((x) => [x.replica_id, x.outcome, x.error_message])).toEqual([
      ['dead-pod', 'failed', 'abandoned: its replica stopped sending heartbeats (crashed or was killed)'],
      ['r1', 'succeeded', null],
    ]);
  });

  it('a run a person starts is audited with who asked', async () => {
    const r = replica('r1', db, { reconcile: () => async () => ({ n: 1 }) });
    const res = await runJobOnce(r, 'reconcile', new Date('2026-11-02T11:00:00Z'), 'slack', {
      actor: { kind: 'slack_user', id: 'U0ALICE01' },
      context: { channel: 'C0BILLING' },
    });
    if (res.status !== 'succeeded') throw new Error(`expected success, got ${res.status}`);
    const audit = await sql<{ actor_id: string; action: string; entity_id: string; source: string }>`
      select actor_id, action, entity_id, source from audit_log where action = 'job.run_requested' and entity_id = ${res.runId.toString()}`.execute(db.db);
    expect(audit.rows).toEqual([{ actor_id: 'U0ALICE01', action: 'job.run_requested', entity_id: res.runId.toString(), source: 'slack' }]);
    expect(await runs()).toEqual([expect.objectContaining({ trigger: 'slack', fire_key: null, outcome: 'succeeded' })]);
  });

  it('refuses unknown jobs and jobs without a body, changing nothing', async () => {
    const r = replica('r1', db, { reconcile: () => async () => ({}) });
    await expect(runJobOnce(r, 'nightly_cleanup', new Date(), 'cli')).rejects.toThrow(UserError);
    await expect(runJobOnce(r, 'exception_digest', new Date(), 'cli')).rejects.toThrow('The exception_digest job cannot run here: not built yet.');
    expect(await runs()).toEqual([]);
  });

  it('shutdown aborts a running job through its signal and waits for it to be recorded', async () => {
    const r = replica('r1', db, {
      reconcile: () => (ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => resolve({ stoppedEarly: true }));
        }),
    });
    const run = runJobOnce(r, 'reconcile', new Date('2026-11-02T11:00:00Z'), 'schedule');
    await expect.poll(() => r.running.size).toBe(1);
    await drainJobs(r, 5000);
    expect((await run).status).toBe('succeeded');
    expect(await runs()).toEqual([expect.objectContaining({ outcome: 'succeeded' })]);
  });
});

describe('schedules in the org time zone', () => {
  it('0 6 * * * in America/New_York fires at 10:00 UTC in summer and 11:00 UTC in winter', () => {
    const tz = 'America/New_York';
    expect(nextFireTime('0 6 * * *', tz, new Date('2026-07-01T12:00:00Z'))?.toISOString()).toBe('2026-07-02T10:00:00.000Z');
    expect(nextFireTime('0 6 * * *', tz, new Date('2026-01-15T09:00:00Z'))?.toISOString()).toBe('2026-01-15T11:00:00.000Z');
    // Across the November change: the 1st is still EDT, the 2nd is EST.
    expect(nextFireTimes('0 6 * * *', tz, new Date('2026-10-31T12:00:00Z'), 3).map((d) => d.toISOString())).toEqual([
      '2026-11-01T11:00:00.000Z',
      '2026-11-02T11:00:00.000Z',
      '2026-11-03T11:00:00.000Z',
    ]);
    // node-cron's own matcher agrees on the instant (and not on 06:00 UTC).
    const task = cron.createTask('0 6 * * *', () => undefined, { timezone: tz });
    try {
      expect(task.match(new Date('2026-07-02T10:00:00Z'))).toBe(true);
      expect(task.match(new Date('2026-07-02T06:00:00Z'))).toBe(false);
      expect(task.match(new Date('2026-01-15T11:00:00Z'))).toBe(true);
    } finally {
      void task.destroy();
    }
  });

  it('next fire times agree with node-cron for every kind of default and common schedule', () => {
    const cases: Array<[string, string]> = [
      ['0 6 * * *', 'America/New_York'],
      ['30 8 * * 1-5', 'Europe/Berlin'],
      ['0 10 * * 1-5', 'Asia/Kolkata'],
      ['15 */6 * * *', 'UTC'],
      ['*/5 * * * *', 'Australia/Sydney'],
      ['0 0 L * *', 'America/Los_Angeles'],
      ['0 9 1,15 * *', 'Asia/Tokyo'],
    ];
    for (const [expr, tz] of cases) {
      const task = cron.createTask(expr, () => undefined, { timezone: tz });
      try {
        const from = new Date();
        const theirs = task.getNextRuns(4).map((d) => d.toISOString());
        expect(nextFireTimes(expr, tz, from, 4).map((d) => d.toISOString()), `${expr} in ${tz}`).toEqual(theirs);
      } finally {
        void task.destroy();
      }
    }
  });

  it('describes common schedules in words', () => {
    expect(describeCron('0 6 * * *')).toBe('every day at 06:00');
    expect(describeCron('30 8 * * 1-5')).toBe('weekdays at 08:30');
    expect(describeCron('15 */6 * * *')).toBe('every 6 hours at :15');
    expect(describeCron('*/10 * * * *')).toBe('every 10 minutes');
    expect(describeCron('* * * * * *')).toBe('every second');
    expect(describeCron('0 9 1 * *')).toBeNull();
  });

  it('the job list shows each job, its state, next fire time and last run', async () => {
    const clock = new ManualClock('2026-11-02T12:00:00Z');
    const r = replica('r1', db, { reconcile: () => async () => ({}) }, { clock });
    await runJobOnce(r, 'reconcile', new Date('2026-11-02T11:00:00Z'), 'schedule');
    const o = await jobsOverview(r);
    expect(o.jobs.map((j) => [j.name, j.state, j.nextFireAt?.toISOString() ?? null, j.lastRun?.outcome ?? null])).toEqual([
      ['reconcile', 'scheduled', '2026-11-03T11:00:00.000Z', 'succeeded'],
      ['exception_digest', 'unavailable', null, null],
      ['straggler_alerts', 'unavailable', null, null],
      ['stripe_backfill', 'unavailable', null, null],
      ['approval_outbox', 'unavailable', null, null],
      ['approval_expiry', 'unavailable', null, null],
      ['collections', 'unavailable', null, null],
    ]);
  });
});

describe('the node-cron scheduler on three replicas', () => {
  it('a schedule firing every second for a few seconds runs each fire exactly once', async () => {
    const yaml = `
schedules:
  reconcile: "* * * * * *"
`;
    const calls: string[] = [];
    const body: JobBodies = {
      reconcile: () => async (ctx) => {
        calls.push(ctx.fireTime.toISOString());
        await sleep(20);
        return {};
      },
    };
    const real = { now: () => new Date() };
    const replicas = [db, second, third].map((conn, i) =>
      createJobs({
        db: conn.db,
        config: testConfig({ yaml }),
        clock: real,
        logger: silentLogger,
        replicaId: `pod-${i}`,
        definitions: buildJobDefinitions({ config: testConfig({ yaml }) }, body),
      }),
    );
    const schedulers = replicas.map((r) => createScheduler(r));
    for (const s of schedulers) s.start();
    expect(schedulers.map((s) => [...s.tasks.keys()])).toEqual([['reconcile'], ['reconcile'], ['reconcile']]);
    await sleep(3600);
    await Promise.all(schedulers.map((s) => s.stop(5000)));

    const fires = (await sql<{ fire_key: string }>`select fire_key from job_fires order by fire_key`.execute(db.db)).rows.map((f) => f.fire_key);
    const rows = await runs();
    expect(fires.length).toBeGreaterThanOrEqual(3);
    expect(fires.every((k) => /^reconcile:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(k))).toBe(true);
    // One run per fire, none twice.
    expect(rows.map((r) => r.fire_key)).toEqual(fires);
    expect(calls.map((c) => `reconcile:${c}`)).toEqual(fires);
    expect(rows.every((r) => r.outcome === 'succeeded')).toBe(true);
  }, 15_000);
});
