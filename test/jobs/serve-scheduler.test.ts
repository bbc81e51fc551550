import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SIGNING_SECRET } from '../support/config.js';
import { type TestDb, createTestDb, testDatabaseUrl } from '../support/db.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

describe('billops serve runs the scheduler', () => {
  let slack: FakeSlack;
  let dir: string;
  // On PostgreSQL a database of its own: other test processes' ticks must not claim this one's fire keys.
  let pg: TestDb | null = null;
  beforeAll(async () => {
    slack = await startFakeSlack();
    if (testDatabaseUrl()) pg = await createTestDb();
    dir = mkdtempSync(path.join(tmpdir(), 'billops-serve-jobs-'));
    writeFileSync(path.join(dir, 'billops.yml'), 'schedules:\n  reconcile: "*/2 * * * * *"\n');
  });
  afterAll(async () => {
    await slack.close();
    await pg?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the scheduled jobs, runs a tick, and stops them on SIGTERM (exit 0)', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['bin/billops.mjs', 'serve'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        BILLOPS_DATA_DIR: dir,
        BILLOPS_CONFIG: path.join(dir, 'billops.yml'),
        BILLOPS_REPLICA_ID: 'pod-a',
        ...(pg?.url ? { DATABASE_URL: pg.url } : {}),
        SLACK_BOT_TOKEN: slack.token,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Array<Record<string, unknown>> = [];
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p) as Record<string, unknown>);
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await expect
        .poll(() => lines.find((l) => l['msg'] === 'job succeeded' && l['job'] === 'reconcile'), { timeout: 45_000, interval: 200 })
        .toMatchObject({ trigger: 'schedule', fireKey: expect.stringMatching(/^reconcile:\d{4}-\d\d-\d\dT\d\d:\d\d:\d[02468]\.000Z$/) });
      expect(lines.find((l) => l['msg'] === 'scheduler started')).toMatchObject({ jobs: ['reconcile', 'exception_digest', 'straggler_alerts', 'approval_outbox', 'approval_expiry', 'collections'], replica: 'pod-a' });
      expect(lines.find((l) => l['msg'] === 'billops is listening')).toMatchObject({ scheduler: 'on', replica: 'pod-a' });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 90_000);
});
