/**
 * The `billops` commands as an operator runs them (real processes, embedded PostgreSQL in a temp
 * folder): the report import's refusal and success, a backfill against the fake Stripe API, and
 * `billops serve` taking a signed webhook, processing it and shutting down cleanly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SIGNING_SECRET, TEST_WEBHOOK_SECRET } from '../support/config.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { FakeStripe, postWebhook } from '../support/fake-stripe.js';
import * as fx from '../support/stripe-fixtures.js';

const root = path.resolve(import.meta.dirname, '../..');
const fixture = (name: string) => path.join(root, 'test/fixtures/stripe', name);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dataDir: string;
let fake: FakeStripe;
let slack: FakeSlack;
let env: Record<string, string>;

function billops(args: string[], extraEnv: Record<string, string> = {}): { done: Promise<Run>; kill: (s: NodeJS.Signals) => void } {
  // Embedded PostgreSQL in the temp folder, whatever DATABASE_URL the suite runs with.
  const child = spawn(process.execPath, ['bin/billops.mjs', ...args], { cwd: root, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))),
    kill: (s) => child.kill(s),
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'billops-stripe-cli-'));
  [fake, slack] = await Promise.all([FakeStripe.start(), startFakeSlack()]);
  const config = path.join(dataDir, 'billops.yml');
  writeFileSync(config, `stripe:\n  api_url: http://${fake.config.host}:${fake.config.port}\n  backfill_page_size: 2\n  max_network_retries: 0\n  queue:\n    poll_interval_ms: 50\n`);
  env = {
    PATH: process.env.PATH ?? '',
    BILLOPS_DATA_DIR: dataDir,
    BILLOPS_CONFIG: config,
    STRIPE_SECRET_KEY: fake.config.apiKey,
    STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'warn',
  };
});
afterAll(async () => {
  await Promise.all([fake.close(), slack.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('billops commands for Stripe', () => {
  it('import stripe-report: a bad file is refused with its line (exit 2), a good one imported with totals', async () => {
    const bad = await billops(['import', 'stripe-report', fixture('balance-change-itemized-bad-amount.csv')]).done;
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('balance-change-itemized-bad-amount.csv was not imported (nothing was changed): 1 problem:');
    expect(bad.stderr).toContain('line 5, column gross: expected an amount in USD major units with at most 2 decimals, such as 12.50, found "1,234.5x"');

    const good = await billops(['import', 'stripe-report', fixture('balance-change-itemized.csv')]).done;
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toMatch(/: 8 rows\./);
    expect(good.stdout).toMatch(/JPY\s+2 rows\s+gross ¥30,000\s+fees ¥1,200\s+net ¥28,800/);
    expect(good.stdout).toMatch(/USD\s+4 rows\s+gross \$134\.32\s+fees \$24\.60\s+net \$109\.72/);
  }, 60_000);

  it('stripe backfill pages through the fake Stripe API; stripe status shows what it holds', async () => {
    for (let i = 0; i < 5; i++) {
      fake.add('customers', fx.customer({ id: `cus_cli${i}` }));
      fake.add('invoices', fx.invoice({ id: `in_cli${i}`, customer: `cus_cli${i}`, status: 'paid', amount_due: 1000 * (i + 1) }));
    }
    const run = await billops(['stripe', 'backfill', '--since', '2026-01-01']).done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Stripe backfill run \d+ completed \(objects created since 2026-01-01\): 10 objects fetched, 10 new or changed\./);
    expect(run.stderr).not.toContain('|'); // no progress bar when stderr is not a terminal
    expect(fake.requests.filter((r) => r.path === '/v1/customers')).toHaveLength(3); // pages of 2

    const status = await billops(['stripe', 'status']).done;
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/customers\s+5\s+USD 5/);
    expect(status.stdout).toMatch(/invoices\s+5\s+paid 5: \$150\.00/);
  }, 60_000);

  it('serve takes a signed webhook, its worker applies it, and SIGTERM stops it cleanly', async () => {
    const port = await freePort();
    const server = billops(['serve'], { PORT: String(port) });
    const url = `http://127.0.0.1:${port}/stripe/webhook`;
    const evt = fx.event('charge.succeeded', fx.charge({ id: 'ch_served', amount: 4321 }));
    let res: Awaited<ReturnType<typeof postWebhook>> | undefined;
    for (let i = 0; i < 150 && !res; i++) {
      res = await postWebhook(url, evt, TEST_WEBHOOK_SECRET).catch(async () => {
        await new Promise((r) => setTimeout(r, 200));
        return undefined;
      });
    }
    expect(res?.status).toBe(200);
    // The worker runs in the server: give it a few polls before asking it to stop.
    await new Promise((r) => setTimeout(r, 500));
    server.kill('SIGTERM');
    const exit = await server.done;
    expect(exit.code, exit.stderr).toBe(0);

    const status = await billops(['stripe', 'status']).done;
    expect(status.stdout).toMatch(/webhook events\s+1\s+processed 1/);
    expect(status.stdout).toMatch(/charges\s+1\s+succeeded 1: \$43\.21/);
  }, 60_000);
});
