import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBillops } from '../support/cli.js';
import { type TestDb, createTestDb, testDatabaseUrl } from '../support/db.js';

describe('billops jobs (the real process)', () => {
  let dir: string;
  let pg: TestDb | null = null;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'billops-jobs-'));
    env = { BILLOPS_DATA_DIR: dir, BILLOPS_REPLICA_ID: 'ops-laptop' };
    if (testDatabaseUrl()) {
      pg = await createTestDb();
      env.DATABASE_URL = pg.url ?? '';
    }
  });
  afterAll(async () => {
    await pg?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a job now, lists it with its last run, and refuses jobs that cannot run (exit 2)', async () => {
    const run = await runBillops(['jobs', 'run', 'reconcile'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^reconcile succeeded in \d+ ms \(job run #1\)\.\n\{\n {2}"runId": "1",/);

    const list = await runBillops(['jobs', 'list'], env);
    expect(list.code).toBe(0);
    const lines = list.stdout.split('\n');
    expect(lines[0]).toBe('Jobs (times in UTC):');
    expect(lines[1]).toMatch(/^ {2}reconcile {10}every day at 06:00 \(0 6 \* \* \*\), next \d{4}-\d\d-\d\d 06:00$/);
    expect(lines[2]).toMatch(/^ {21}last \d{4}-\d\d-\d\d \d\d:\d\d succeeded in \d+ ms \(cli by .+\)$/);
    // No SLACK_BOT_TOKEN either: the Slack posts cannot run from here.
    expect(list.stdout).toContain('  exception_digest   not scheduled: SLACK_BOT_TOKEN is not set\n                     never run');
    // No STRIPE_SECRET_KEY in this environment.
    expect(list.stdout).toContain('  stripe_backfill    not scheduled: STRIPE_SECRET_KEY is not set');

    const digest = await runBillops(['jobs', 'run', 'exception_digest'], env);
    expect(digest.code).toBe(2);
    expect(digest.stderr).toBe('billops jobs run: The exception_digest job cannot run here: SLACK_BOT_TOKEN is not set.\n');
    const unknown = await runBillops(['jobs', 'run', 'vacuum'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'billops jobs run: There is no job called "vacuum". Jobs: reconcile, exception_digest, straggler_alerts, stripe_backfill, approval_outbox, approval_expiry, collections.\n',
    );
  }, 120_000);
});
