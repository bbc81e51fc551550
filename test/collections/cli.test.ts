/**
 * `billops collections run|aging|pause|resume|digest`: in-process with captured output (the same
 * functions the commands call), and once as the real process for arguments and exit codes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agingFromCli, digestFromCli, pauseFromCli, resumeFromCli, runFromCli } from '../../src/cli/commands/collections.js';
import { runBillops } from '../support/cli.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb, testDatabaseUrl } from '../support/db.js';
import * as fx from '../support/stripe-fixtures.js';
import { BASE_YAML, type Harness, OWNER_A, addDay, customerWith, nineAm, startHarness } from './helpers.js';

const TODAY = '2026-11-10';
let h: Harness;
const lines: string[] = [];
const out = { line: (t = '') => void lines.push(...t.split('\n')), error: (t: string) => void lines.push(`ERR ${t}`) };
let deps: Parameters<typeof agingFromCli>[1];

beforeAll(async () => {
  h = await startHarness({ start: nineAm(TODAY).toISOString() });
  await h.seed('customers', customerWith('cus_CliA', 'Quince Quarries', OWNER_A));
  await h.seed('invoices', fx.invoice({ id: 'in_CliA', number: 'QQ-0042', customer: 'cus_CliA', collection_method: 'send_invoice', created: fx.unix('2026-08-01T12:00:00Z'), due_date: Math.floor(nineAm(addDay(TODAY, -40)).getTime() / 1000), amount_due: 123_456 }));
  const config = testConfig({
    yaml: `${BASE_YAML}stripe:\n  api_url: http://${h.stripe.config.host}:${h.stripe.config.port}\n  max_network_retries: 0\n`,
    env: { SLACK_API_URL: h.slack.apiUrl, STRIPE_SECRET_KEY: h.stripe.config.apiKey },
  });
  deps = { db: h.db, config, clock: h.clock, logger: h.deps.logger, out };
}, 60_000);
afterAll(async () => h.close());

const take = () => lines.splice(0);

describe('billops collections (in process)', () => {
  it('aging prints the table, or JSON with major-unit amounts; refuses a bucket that does not exist', async () => {
    await agingFromCli([], deps);
    const text = take();
    expect(text[0]).toBe('AR aging as of 2026-11-10 (America/New_York): days past the due day; invoices without a due date from their finalization.');
    expect(text).toContain('  31-60            1   $1,234.56');
    await agingFromCli(['--bucket', '31-60', '--format', 'json'], deps);
    const json = JSON.parse(take().join('\n')) as { buckets: unknown[]; invoices: unknown[] };
    expect(json.buckets).toEqual([{ bucket: '31-60', invoices: 1, amounts: [{ amount: '1234.56', currency: 'USD' }], reporting: null }]);
    expect(json.invoices).toEqual([
      { invoice: 'in_CliA', number: 'QQ-0042', customer: 'cus_CliA', name: 'Quince Quarries', amount_remaining: { amount: '1234.56', currency: 'USD' }, due_on: '2026-10-01', days_past_due: 40, bucket: '31-60' },
    ]);
    await expect(agingFromCli(['--bucket', '30-60'], deps)).rejects.toThrow('--bucket "30-60" is not a bucket: use one of current, 1-30, 31-60, 61-90, 90+.');
    await expect(agingFromCli(['--customer', 'acme'], deps)).rejects.toThrow('--customer "acme" is not a Stripe customer id (cus_…).');
  });

  it('run --dry-run shows what would happen; run performs it (Stripe and Slack), recorded as a job run', async () => {
    await runFromCli(['--dry-run'], deps);
    expect(take()).toEqual([
      'Collections for 2026-11-10 (America/New_York), dry run: 1 step to perform, 0 held by a pause. Nothing was done.',
      '  QQ-0042        Formal collections (enterprise) — $1,234.56, due 2026-10-01',
    ]);
    expect(h.posts()).toEqual([]);
    const summary = await runFromCli([], deps);
    expect(summary).toMatchObject({ performed: 1, skipped: 4 });
    const text = take();
    expect(text[0]).toMatch(/^Collections run for 2026-11-10 \(America\/New_York\) in [\d.]+ s: 1 step performed, 0 failed/);
    expect(text.at(-1)).toMatch(/^\(job run #\d+\)$/);
    expect(h.posts().map((p) => p.channel)).toEqual([h.slack.dmChannelFor('U0LEAD0001'), 'C0FINANCE1']);
    const run = await h.db.db.selectFrom('job_runs').select(['job_name', 'trigger', 'outcome']).execute();
    expect(run).toEqual([{ job_name: 'collections', trigger: 'cli', outcome: 'succeeded' }]);
  });

  it('pause and resume a customer, and say what is wrong with the arguments', async () => {
    await pauseFromCli(['cus_CliA', '2026-11-20', 'Wire', 'sent,', 'confirming'], deps);
    expect(take()).toEqual([
      'Dunning of cus_CliA is paused through 2026-11-20 (promise to pay #1); it resumes the day after at the step then due.',
      '  note: Wire sent, confirming',
    ]);
    await resumeFromCli(['cus_CliA', 'Wire never arrived'], deps);
    expect(take()).toEqual(['The promise to pay of cus_CliA (through 2026-11-20) is cleared; dunning resumes on the next run.']);
    await expect(pauseFromCli(['cus_CliA', '2026-11-20'], deps)).rejects.toThrow(/expected a customer, the day they promised to pay by and a note/);
    await expect(pauseFromCli(['cus_CliA', '20/11/2026', 'soon'], deps)).rejects.toThrow('"20/11/2026" is not a date (YYYY-MM-DD).');
    const audit = await h.db.db.selectFrom('audit_log').select(['action', 'actor_kind', 'source']).where('action', 'like', 'collections.pause%').orderBy('id').execute();
    expect(audit).toEqual([
      { action: 'collections.paused', actor_kind: 'cli', source: 'cli' },
      { action: 'collections.pause_cleared', actor_kind: 'cli', source: 'cli' },
    ]);
  });

  it('digest prints today\'s digest', async () => {
    await digestFromCli([], deps);
    const text = take().join('\n');
    expect(text).toContain('Dunning digest for 2026-11-10 (America/New_York)');
    expect(text).toContain('  Formal collections (enterprise) — 1 invoice, $1,234.56');
  });
});

describe('billops collections (the real process)', () => {
  let dir: string;
  let pg: TestDb | null = null;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'billops-collections-'));
    env = { BILLOPS_DATA_DIR: dir };
    if (testDatabaseUrl()) {
      pg = await createTestDb();
      env.DATABASE_URL = pg.url ?? '';
    }
  });
  afterAll(async () => {
    await pg?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the commands, answers on an empty database, and exits 2 for what it cannot do', async () => {
    const aging = await runBillops(['collections', 'aging'], env);
    expect(aging.stderr).toBe('');
    expect(aging.code).toBe(0);
    expect(aging.stdout).toMatch(/^AR aging as of \d{4}-\d\d-\d\d \(UTC\)/);
    expect(aging.stdout).toContain('Nothing is past due.');
    const run = await runBillops(['collections', 'run'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('billops collections run: The collections job cannot run here: SLACK_BOT_TOKEN is not set (use --dry-run to see what it would do).\n');
    const pause = await runBillops(['collections', 'pause', 'cus_Nobody', '2099-01-01', 'soon'], env);
    expect(pause.code).toBe(2);
    expect(pause.stderr).toBe("billops collections pause: There is no customer cus_Nobody in billops' copy of Stripe.\n");
    const help = await runBillops(['help'], env);
    expect(help.stdout).toMatch(/billops collections aging \[--bucket current\|1-30\|31-60\|61-90\|90\+\]/);
  }, 120_000);
});
